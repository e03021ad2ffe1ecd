"""Sample builders (SPEC §3.5-3.7): the schema-link chain with its memory, SQL generation, baselines."""

from __future__ import annotations

import random

from lrsql_plugin.prompts import PromptRenderer
from lrsql_plugin.samples import (
    full_schema_link_sample,
    full_schema_sql_sample,
    schema_link_samples,
    sql_generation_sample,
)
from lrsql_plugin.schema.model import Column, Database, Example, Table
from lrsql_plugin.slicing import Slicing

DB = Database("toy", [Table(n, [Column("id"), Column(f"{n}_name")], ["id"]) for n in "abcdef"])
SLICING = Slicing("toy", (("a", "b"), ("c", "d"), ("e", "f")), "t2-o0")
EX = Example("toy", "Which a has the most e?", "SELECT 1 FROM a JOIN e", index=3)
R = PromptRenderer()


def chain(gold, **kw):
    return [(s.meta["slice"], s.meta["memory"], s.output) for s in schema_link_samples(EX, gold, DB, SLICING, R, **kw)]


def test_chain_emits_memoryless_and_memory_samples_per_slice():
    assert chain(["a", "e"]) == [
        (0, [], "a"),
        (1, [], "None"),
        (1, ["a"], "None"),
        (2, [], "e"),
        (2, ["a"], "e"),
    ]


def test_memory_lists_earlier_gold_tables_in_slice_order():
    assert chain(["d", "c", "a"])[-1] == (2, ["a", "c", "d"], "None")


def test_union_of_targets_is_the_gold_set_and_targets_name_only_slice_tables():
    samples = schema_link_samples(EX, ["b", "c", "f"], DB, SLICING, R)
    named = set()
    for s in samples:
        slice_tables = set(SLICING.slices[s.meta["slice"]])
        if s.output != "None":
            names = set(s.output.split(", "))
            assert names <= slice_tables
            named |= names
    assert named == {"b", "c", "f"}


def test_slice_first_prompt_shows_the_slice_schema_then_question_memory_and_instruction():
    s = schema_link_samples(EX, ["a", "e"], DB, SLICING, R)[-1]
    assert s.prompt.input.startswith("Question: Which a has the most e?") and s.prompt.request == s.prompt.input
    assert "Tables already chosen from earlier parts of the schema: a" in s.prompt.input
    assert "part 3 of 3" in s.prompt.input
    assert s.prompt.instruction.startswith("CREATE TABLE e") and "CREATE TABLE a " not in s.prompt.instruction
    assert s.prompt.schema == s.prompt.instruction
    assert s.prompt.user.index("CREATE TABLE") < s.prompt.user.index("Question:")


def test_question_first_prompt_shows_the_question_memory_and_instruction_before_the_schema():
    s = schema_link_samples(EX, ["a", "e"], DB, SLICING, PromptRenderer(layout="question-first"))[-1]
    assert s.prompt.instruction.startswith("Question: Which a has the most e?")
    assert "Tables already chosen from earlier parts of the schema: a" in s.prompt.instruction
    assert "CREATE TABLE e" in s.prompt.input and s.prompt.schema == s.prompt.input
    assert s.prompt.user.index("Question:") < s.prompt.user.index("CREATE TABLE")


def test_slices_of_one_position_share_their_schema_text_across_questions():
    other = Example("toy", "How many b?", "SELECT count(*) FROM b")
    a = schema_link_samples(EX, ["a", "e"], DB, SLICING, R)
    b = schema_link_samples(other, ["b"], DB, SLICING, R)
    assert a[0].prompt.user.split("Question:")[0] == b[0].prompt.user.split("Question:")[0]
    assert a[0].prompt.user != b[0].prompt.user


def test_noisy_memory_changes_memories_but_never_targets():
    clean = chain(["a", "c", "e"])
    noisy = chain(["a", "c", "e"], memory_noise=1.0, rng=random.Random(0))
    assert [o for *_, o in noisy] == [o for *_, o in clean]
    assert [m for _, m, _ in noisy] != [m for _, m, _ in clean]
    # with p=1 every gold memory table is dropped and one non-gold earlier table added
    assert noisy[-1][1] in (["b"], ["d"])


def test_sql_generation_sees_gold_tables_plus_distractors():
    s = sql_generation_sample(EX, ["a", "e"], DB, R)
    assert s.output == EX.sql and "CREATE TABLE a" in s.prompt.input and "CREATE TABLE b" not in s.prompt.input
    d = sql_generation_sample(EX, ["a", "e"], DB, R, distractors=2, rng=random.Random(1))
    assert d.prompt.input.count("CREATE TABLE") == 4


def test_baselines_see_the_full_schema():
    link = full_schema_link_sample(EX, ["a", "e"], DB, R)
    sql = full_schema_sql_sample(EX, ["a", "e"], DB, R)
    assert link.output == "a, e" and sql.output == EX.sql
    assert link.prompt.input.count("CREATE TABLE") == 6 == sql.prompt.input.count("CREATE TABLE")
    assert "part" not in link.prompt.instruction and link.prompt.instruction.startswith("Question:")  # always question-first


def test_evidence_goes_into_both_prompts():
    ex = Example("toy", "q?", "SELECT 1 FROM a", evidence="a means b")
    assert "Evidence: a means b" in schema_link_samples(ex, ["a"], DB, SLICING, R)[0].prompt.request
    assert "Evidence: a means b" in sql_generation_sample(ex, ["a"], DB, R).prompt.instruction
