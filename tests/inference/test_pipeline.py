"""The two-stage pipeline's logic (SPEC §3.9), driven by a rule-based engine that reads the prompts.

The engine is a real reader of the rendered prompts (it answers from the DDL and memory it is
shown), so these tests pin what the model is given: slice order, memory, the union, the
fallback, and first-statement extraction.
"""

from __future__ import annotations

import re

from lrsql_plugin.inference import InferenceQuestion, TwoStagePipeline, first_sql_statement
from lrsql_plugin.inference.engines.base import SCHEMA_LINK, SQL_GENERATION
from lrsql_plugin.inference.pipeline import PipelineSettings
from lrsql_plugin.prompts import PromptRenderer
from lrsql_plugin.schema.model import Column, Database, Table
from lrsql_plugin.slicing import Slicing

DB = Database("toy", [Table(n, [Column("id")], ["id"]) for n in ("a", "b", "c", "d", "e")])
SLICING = Slicing("toy", (("a", "b"), ("c", "d"), ("e",)), "t2-o0")
R = PromptRenderer().for_database()


class PromptReader:
    """Links the tables whose names the question mentions as whole words; answers SQL over the tables shown."""

    def __init__(self, extra: str = ""):
        self.calls: list[tuple[str, int, list[str]]] = []
        self.extra = extra

    def generate(self, prompts, adapter, max_new_tokens):
        out = []
        for p in prompts:
            shown = re.findall(r"CREATE TABLE (\w+)", p.schema)
            question = p.request.splitlines()[0]
            self.calls.append((adapter, len(prompts), shown))
            if adapter == SCHEMA_LINK:
                memory = re.search(r"earlier parts of the schema: (.*)", p.request).group(1)
                hits = [t for t in shown if re.search(rf"\b{t}\b", question)]
                out.append((", ".join(hits) or "None") + f"\nmemory={memory}")
            else:
                out.append(f"```sql\nSELECT * FROM {', '.join(shown)};{self.extra}\n```")
        return out

    def close(self):
        pass


def pipeline(engine, **settings):
    return TwoStagePipeline(engine, {"toy": DB}, lambda _: R, lambda _: SLICING, PipelineSettings(**settings))


def test_slices_run_in_order_across_the_batch_with_each_questions_memory():
    engine = PromptReader()
    q1 = InferenceQuestion(0, "toy", "join a with e")
    q2 = InferenceQuestion(1, "toy", "count c")
    p1, p2 = pipeline(engine).run_batch([q1, q2])
    # three schema-link calls (one per slice, both questions batched), then one SQL call
    assert [(a, n) for a, n, _ in engine.calls[::2]] == [(SCHEMA_LINK, 2)] * 3 + [(SQL_GENERATION, 2)]
    assert p1.link_answers == ["a\nmemory=None", "None\nmemory=a", "e\nmemory=a"]
    assert p2.link_answers == ["None\nmemory=None", "c\nmemory=None", "None\nmemory=c"]
    assert p1.linked_tables == ["a", "e"] and p2.linked_tables == ["c"]
    assert p1.sql == "SELECT * FROM a, e" and not p1.fallback
    assert p1.slices == [["a", "b"], ["c", "d"], ["e"]]


def test_names_outside_the_slice_are_dropped():
    class Liar(PromptReader):
        def generate(self, prompts, adapter, max_new_tokens):
            if adapter == SCHEMA_LINK:
                return ["e, DROP TABLE a, `b`" for _ in prompts]
            return super().generate(prompts, adapter, max_new_tokens)

    (p,) = pipeline(Liar()).run_batch([InferenceQuestion(0, "toy", "q")])
    assert p.linked_tables == ["b", "e"]  # e only from the last slice, b from the first


def test_nothing_linked_falls_back_to_the_full_schema():
    engine = PromptReader()
    (p,) = pipeline(engine).run_batch([InferenceQuestion(0, "toy", "how many rows in total?")])
    assert p.linked_tables == [] and p.fallback
    assert p.sql == "SELECT * FROM a, b, c, d, e"


def test_gold_tables_mode_skips_linking():
    engine = PromptReader()
    (p,) = pipeline(engine, gold_tables=True).run_batch([InferenceQuestion(0, "toy", "q", gold_tables=("d", "b"))])
    assert [a for a, _, _ in engine.calls] == [SQL_GENERATION]
    assert p.linked_tables == ["d", "b"] and p.sql == "SELECT * FROM b, d"


def test_only_the_first_statement_is_kept():
    (p,) = pipeline(PromptReader(extra=" DROP TABLE a;")).run_batch([InferenceQuestion(0, "toy", "a")])
    assert p.sql == "SELECT * FROM a"


def test_first_sql_statement():
    assert first_sql_statement("SELECT 1; SELECT 2") == "SELECT 1"
    assert first_sql_statement("```sql\nSELECT ';' AS x\nFROM t;\n```\nmore") == "SELECT ';' AS x FROM t"
    assert first_sql_statement('SELECT "a;b" FROM t -- note; here\nWHERE 1') == 'SELECT "a;b" FROM t WHERE 1'
    assert first_sql_statement("") == ""


def test_evidence_reaches_both_stages():
    seen = []

    class Recorder(PromptReader):
        def generate(self, prompts, adapter, max_new_tokens):
            seen.extend((adapter, p.request) for p in prompts)
            return super().generate(prompts, adapter, max_new_tokens)

    pipeline(Recorder()).run_batch([InferenceQuestion(0, "toy", "count a", evidence="a means b")])
    assert {a for a, _ in seen} == {SCHEMA_LINK, SQL_GENERATION}
    assert all("\nEvidence: a means b\n" in instruction for _, instruction in seen)
