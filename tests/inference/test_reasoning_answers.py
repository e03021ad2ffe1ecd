"""Answers of reasoning chat templates (issue 12): ``<think>…</think>`` blocks never reach the parsers.

The answers under test are built by LLaMA-Factory itself: its ``qwen3`` template (thinking enabled
by default) encodes the training target with an empty thinking block, and we decode those ids the
way the hf engine decodes a generated answer.
"""

from __future__ import annotations

import pytest

from lrsql_plugin.inference import InferenceQuestion, TwoStagePipeline, first_sql_statement
from lrsql_plugin.inference.engines.base import SCHEMA_LINK
from lrsql_plugin.inference.engines.encoding import PromptEncoder
from lrsql_plugin.inference.pipeline import PipelineSettings
from lrsql_plugin.prompts import PromptRenderer
from lrsql_plugin.prompts.render import format_table_answer, parse_table_answer, strip_reasoning
from lrsql_plugin.schema.model import Column, Database, Table
from lrsql_plugin.slicing import Slicing

SLICE = ["stadium", "singer", "concert"]


def trained_answer(encoder: PromptEncoder, user: str, target: str) -> str:
    """What a model trained with ``encoder``'s template learned to answer ``target`` as: LLaMA-Factory's
    own training encoding of the response, decoded as the engine decodes generated ids."""
    messages = [{"role": "user", "content": user}, {"role": "assistant", "content": target}]
    _, response_ids = encoder.template.encode_oneturn(encoder.tokenizer, messages, "system")
    return encoder.decode(response_ids)


@pytest.fixture(scope="module")
def qwen3(tiny_model_dir) -> PromptEncoder:
    return PromptEncoder(str(tiny_model_dir), "qwen3")


def test_qwen3_answer_with_a_thinking_block_parses_to_the_tables_and_the_sql(qwen3):
    link = trained_answer(qwen3, "Which tables?", format_table_answer(["singer", "concert"]))
    assert link.startswith("<think>") and "</think>" in link  # the template really adds the block
    assert link.strip().splitlines()[0] == "<think>"  # what the old first-line parser read
    assert parse_table_answer(link, SLICE) == ["singer", "concert"]

    none = trained_answer(qwen3, "Which tables?", format_table_answer([]))
    assert "<think>" in none and parse_table_answer(none, SLICE) == []

    sql = trained_answer(qwen3, "Write SQL", "SELECT name FROM singer WHERE age > 30;")
    assert "<think>" in sql
    assert first_sql_statement(sql) == "SELECT name FROM singer WHERE age > 30"


def test_qwen3_answers_through_the_pipeline(qwen3):
    """A stand-in model answering as qwen3 training taught it: every stage parses through the block."""
    db = Database("music", [Table(n, [Column("id")], ["id"]) for n in SLICE])
    slicing = Slicing("music", (("stadium", "singer"), ("concert",)), "t2-o0")

    class Qwen3Model:
        def generate(self, prompts, adapter, max_new_tokens):
            if adapter == SCHEMA_LINK:
                return [
                    trained_answer(qwen3, p.user, format_table_answer([t for t in ("singer", "concert") if f"CREATE TABLE {t}" in p.schema]))
                    for p in prompts
                ]
            return [trained_answer(qwen3, p.user, "```sql\nSELECT count(*) FROM singer JOIN concert;\n```") for p in prompts]

        def close(self):
            pass

    renderer = PromptRenderer().for_database()
    pipe = TwoStagePipeline(Qwen3Model(), {"music": db}, lambda _: renderer, lambda _: slicing, PipelineSettings())
    (p,) = pipe.run_batch([InferenceQuestion(0, "music", "How many concerts per singer?")])
    assert all(a.startswith("<think>") for a in p.link_answers)
    assert p.linked_tables == ["singer", "concert"] and not p.fallback
    assert p.sql == "SELECT count(*) FROM singer JOIN concert"


@pytest.mark.parametrize(
    ("answer", "tables"),
    [
        ("<think>\nsinger looks relevant, stadium too\n</think>\n\nconcert", ["concert"]),  # names inside the block are ignored
        ("singer is needed</think>\nconcert", ["concert"]),  # opening tag was in the prompt
        ("concert\n<think>maybe singer", ["concert"]),  # unclosed block: cut by the token budget
        ("<think></think>singer,\nconcert", ["singer", "concert"]),
        ("- singer\n- `Concert`\n- orchestra", ["singer", "concert"]),  # whole answer, bullets; orchestra not in slice
        ("None", []),
    ],
)
def test_table_names_come_from_the_whole_answer_outside_reasoning(answer, tables):
    assert parse_table_answer(answer, SLICE) == tables


def test_sql_is_read_outside_reasoning():
    assert first_sql_statement("<think>\nSELECT wrong FROM t;\n</think>\n\nSELECT 1;") == "SELECT 1"
    assert first_sql_statement("```sql\nSELECT 2\n```") == "SELECT 2"
    assert first_sql_statement("<think>SELECT never finished") == ""
    assert strip_reasoning("a<think>x</think>b<think>y</think>c") == "abc"
