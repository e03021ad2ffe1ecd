"""When nothing is linked, stage 2 gets a bounded schema (issue 18, item 6).

The full schema only when its SQL prompt fits the SQL recipe's cutoff_len (minus the answer's
room); otherwise the tables BM25 ranks highest against the question, added while the prompt fits.
Each prediction records its fallback kind.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from lrsql_plugin.context.schema_context import SchemaContext
from lrsql_plugin.hparams.convert_args import ConvertArguments
from lrsql_plugin.inference import InferenceQuestion, TwoStagePipeline
from lrsql_plugin.inference.engines.base import SCHEMA_LINK
from lrsql_plugin.inference.pipeline import PipelineSettings
from lrsql_plugin.prompts import PromptRenderer
from lrsql_plugin.schema.model import Column, Database, ForeignKey, Table
from lrsql_plugin.tokens import load_token_counter

RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "sql_generation_lora.yaml"
TOPICS = ["invoice", "shipment", "employee", "warehouse", "supplier", "customer", "payment", "product", "region", "refund"]


def big_database(n: int = 300) -> Database:
    tables = []
    for i in range(n):
        topic = TOPICS[i % len(TOPICS)]
        cols = [Column("id", "integer"), *[Column(f"{topic}_attribute_{j}", "text") for j in range(12)]]
        fks = [ForeignKey("parent_id", f"t{i - 1:03d}_{TOPICS[(i - 1) % 10]}", "id")] if i % 10 else []
        if fks:
            cols.append(Column("parent_id", "integer"))
        tables.append(Table(f"t{i:03d}_{topic}", cols, ["id"], fks))
    tables.append(Table("penguin_sightings", [Column("id", "integer"), Column("colony", "text"), Column("count", "integer")], ["id"]))
    return Database("big", tables)


class NothingLinked:
    """Answers None on every slice; records the SQL prompts."""

    def __init__(self):
        self.sql_prompts = []

    def generate(self, prompts, adapter, max_new_tokens):
        if adapter != SCHEMA_LINK:
            self.sql_prompts += prompts
            return ["SELECT 1"] * len(prompts)
        return ["None"] * len(prompts)

    def close(self):
        pass


def run(db: Database, counter, question: str, cutoff: int):
    args = ConvertArguments(tables_per_slice=[8], cutoff_len=cutoff)
    ctx = SchemaContext(db, PromptRenderer().for_database(), args, counter)
    engine = NothingLinked()
    pipe = TwoStagePipeline(
        engine, {db.db_id: db}, lambda _: ctx.renderer, lambda _: ctx.slicings()[0],
        PipelineSettings(sql_prompt_tokens=args.sql_prompt_tokens), view_for=lambda _: ctx.view, counter=counter,
    )
    (p,) = pipe.run_batch([InferenceQuestion(0, db.db_id, question)])
    return p, engine.sql_prompts[0]


@pytest.fixture(scope="module")
def counter(tiny_model_dir):
    return load_token_counter(str(tiny_model_dir))


def test_a_300_table_schema_falls_back_to_bm25_tables_within_the_sql_cutoff(counter):
    cutoff = yaml.safe_load(RECIPE.read_text())["cutoff_len"]
    db = big_database()
    full = counter.samples([("s", "q", PromptRenderer().schema(db.tables), "")])[0][0]
    assert full > 10 * cutoff  # the full schema is far too long for the SQL model
    p, prompt = run(db, counter, "How many penguins were counted in each colony?", cutoff)
    assert p.fallback and p.fallback_kind == "bm25"
    tokens = counter.samples([(prompt.system, prompt.instruction, prompt.input, "")])[0][0]
    assert tokens <= cutoff
    shown = re.findall(r"CREATE TABLE (\w+)", prompt.input)
    assert shown[0] == "penguin_sightings" or "penguin_sightings" in shown  # the table the question is about
    assert 3 <= len(shown) < len(db.tables)  # filled up to the budget, not one table, not all
    assert p.record()["fallback_kind"] == "bm25" and p.record()["sql_tables"] == shown


def test_a_schema_that_fits_falls_back_to_the_full_schema(counter):
    db = Database("small", big_database(4).tables)
    p, prompt = run(db, counter, "How many penguins?", 2048)
    assert p.fallback_kind == "full_schema"
    assert re.findall(r"CREATE TABLE (\w+)", prompt.input) == db.table_names


def test_linked_tables_record_no_fallback(counter):
    db = big_database(4)
    args = ConvertArguments(tables_per_slice=[8])
    ctx = SchemaContext(db, PromptRenderer().for_database(), args, counter)

    class LinksPenguins(NothingLinked):
        def generate(self, prompts, adapter, max_new_tokens):
            if adapter == SCHEMA_LINK:
                return ["penguin_sightings" if "penguin_sightings" in p.schema else "None" for p in prompts]
            return super().generate(prompts, adapter, max_new_tokens)

    engine = LinksPenguins()
    pipe = TwoStagePipeline(engine, {db.db_id: db}, lambda _: ctx.renderer, lambda _: ctx.slicings()[0],
                            PipelineSettings(sql_prompt_tokens=1792), view_for=lambda _: ctx.view, counter=counter)
    (p,) = pipe.run_batch([InferenceQuestion(0, db.db_id, "penguins per colony")])
    assert p.fallback_kind == "none" and not p.fallback and p.sql_tables == ["penguin_sightings"]
