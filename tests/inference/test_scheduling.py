"""Scheduling (issue 12): waves by slice position over a whole chunk, length-sorted token-budget batches,
exactness against one-question-at-a-time decoding, the per-question link-context hook, chunked resume."""

from __future__ import annotations

import json
import re

import pytest

from lrsql_plugin.hparams.infer_args import InferenceArguments
from lrsql_plugin.inference import InferenceQuestion, TwoStagePipeline
from lrsql_plugin.inference.engines.base import SCHEMA_LINK, SQL_GENERATION, plan_batches
from lrsql_plugin.inference.pipeline import LinkContext, PipelineSettings
from lrsql_plugin.prompts import PromptRenderer
from lrsql_plugin.schema.model import Column, Database, Table
from lrsql_plugin.slicing import Slicing
from tests.fixtures.tiny_model import TINY_MODEL_TEMPLATE

R = PromptRenderer().for_database()


def table(name: str, width: int = 1) -> Table:
    return Table(name, [Column("id", "INTEGER")] + [Column(f"{name}_attribute_{k}", "TEXT") for k in range(width)], ["id"])


# --- plan_batches -------------------------------------------------------------------------------


def test_batches_are_length_sorted_and_respect_rows_and_token_budget():
    lengths = [10, 300, 12, 290, 11, 305, 9]
    batches = plan_batches(lengths, max_rows=2, max_tokens=10_000, max_new_tokens=5)
    assert batches == [[5, 1], [3, 2], [4, 0], [6]]  # longest first, ties in input order, 2 rows at most
    tight = plan_batches(lengths, max_rows=16, max_tokens=620, max_new_tokens=5)
    for b in tight:
        assert len(b) == 1 or len(b) * (max(lengths[i] for i in b) + 5) <= 620
    assert sorted(i for b in tight for i in b) == list(range(len(lengths)))
    assert [lengths[i] for i in tight[0]] == [305, 300]  # long prompts never share a batch with short ones
    assert plan_batches([5000, 3], max_rows=8, max_tokens=100) == [[0], [1]]  # over budget: alone
    assert plan_batches([], 4, 100) == []


# --- waves over the chunk -------------------------------------------------------------------------


class Reader:
    """Links tables whose names the question mentions; records every engine call."""

    def __init__(self):
        self.calls: list[tuple[str, list[str]]] = []

    def generate(self, prompts, adapter, max_new_tokens):
        out = []
        self.calls.append((adapter, [p.request.splitlines()[0] for p in prompts]))
        for p in prompts:
            shown = re.findall(r"CREATE TABLE (\w+)", p.schema)
            if adapter == SCHEMA_LINK:
                out.append(", ".join(t for t in shown if re.search(rf"\b{t}\b", p.request.splitlines()[0])) or "None")
            else:
                out.append(f"SELECT * FROM {', '.join(shown)}")
        return out

    def close(self):
        pass


SMALL = Database("small", [table("x")])
BIG = Database("big", [table(n, 12) for n in ("a", "b", "c", "d", "e")])
SLICINGS = {"small": Slicing("small", (("x",),), "t1"), "big": Slicing("big", (("a", "b"), ("c", "d"), ("e",)), "t2")}


def test_each_wave_is_one_engine_call_over_every_question_with_that_slice():
    engine = Reader()
    pipe = TwoStagePipeline(engine, {"small": SMALL, "big": BIG}, lambda _: R, SLICINGS.__getitem__)
    qs = [InferenceQuestion(0, "big", "a and e?"), InferenceQuestion(1, "small", "x"),
          InferenceQuestion(2, "big", "c")]
    preds = pipe.run_batch(qs)
    assert [(a, len(qs_)) for a, qs_ in engine.calls] == [(SCHEMA_LINK, 3), (SCHEMA_LINK, 2), (SCHEMA_LINK, 2), (SQL_GENERATION, 3)]
    assert [p.linked_tables for p in preds] == [["a", "e"], ["x"], ["c"]]
    assert [len(p.link_answers) for p in preds] == [3, 1, 3]
    assert preds[1].slices == [["x"]] and preds[0].sql == "SELECT * FROM a, e"


def test_link_context_hook_links_in_another_database_and_maps_names_back():
    """What merged mode plugs in: stage 1 reads a pseudo-database; stage 2 gets the question's own tables."""
    pseudo = Database("pseudo", [table("small__x"), table("other__y"), table("a")])
    pseudo_slicing = Slicing("pseudo", (("other__y", "small__x"), ("a",)), "m")
    engine = Reader()
    seen = []

    def link_context(q):
        seen.append(q.index)
        return LinkContext(pseudo, R, pseudo_slicing)

    pipe = TwoStagePipeline(
        engine, {"small": SMALL}, lambda _: R, SLICINGS.__getitem__,
        link_context=link_context, map_linked=lambda q, names: [n.split("__", 1)[1] for n in names if n.startswith(q.db_id + "__")],
    )
    (p,) = pipe.run_batch([InferenceQuestion(0, "small", "small__x and other__y")])
    assert seen == [0]
    assert p.slices == [["other__y", "small__x"], ["a"]] and len(p.link_answers) == 2
    assert p.linked_tables == ["x"] and not p.fallback  # other__y is another database's table: dropped
    assert p.sql == "SELECT * FROM x"


# --- exactness with a real model ------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_adapters(tiny_model_dir, tmp_path_factory):
    """Random (non-zero) LoRA adapters for the tiny model, one per stage, so adapter switching is exercised."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    root = tmp_path_factory.mktemp("adapters")
    out = {}
    for seed, name in enumerate((SCHEMA_LINK, SQL_GENERATION)):
        torch.manual_seed(seed)
        model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_model_dir),
                               LoraConfig(r=4, target_modules="all-linear", init_lora_weights=False))
        model.save_pretrained(root / name)
        out[name] = str(root / name)
    return out


def hf_engine(tiny_model_dir, adapters, batch_size, dtype="float32"):
    from lrsql_plugin.inference.engines.hf import HFEngine

    return HFEngine(str(tiny_model_dir), adapters, TINY_MODEL_TEMPLATE, batch_size=batch_size, device="cpu", dtype=dtype)


def test_questions_with_very_different_slice_lengths_batched_equal_each_alone(tiny_model_dir, tiny_adapters):
    """Must show (issue 12): one run over two questions, a one-table database and a wide three-slice one,
    gives the predictions of running each question alone with batch size 1 (CPU, float32)."""
    settings = PipelineSettings(link_max_new_tokens=12, sql_max_new_tokens=16)
    dbs = {"small": SMALL, "big": BIG}
    qs = [InferenceQuestion(0, "small", "How many x are there?"), InferenceQuestion(1, "big", "Which a has the most e rows?")]

    together = hf_engine(tiny_model_dir, tiny_adapters, batch_size=16)
    both = TwoStagePipeline(together, dbs, lambda _: R, SLICINGS.__getitem__, settings).run_batch(qs)
    alone_engine = hf_engine(tiny_model_dir, tiny_adapters, batch_size=1)
    alone = [TwoStagePipeline(alone_engine, dbs, lambda _: R, SLICINGS.__getitem__, settings).run_batch([q])[0] for q in qs]

    # the first wave and the SQL call really padded a short prompt beside a long one
    assert (2, max(w for _, w in together.batch_shapes)) in together.batch_shapes
    widths = sorted(w for rows, w in alone_engine.batch_shapes)
    assert widths[-1] > 3 * widths[0]
    assert [p.record() for p in both] == [p.record() for p in alone]
    assert all(a.strip() for p in both for a in p.link_answers + [p.sql_answer])  # the model said something
    assert both[0].sql_answer != both[1].sql_answer


def test_dtype_is_applied_to_base_and_adapters(tiny_model_dir, tiny_adapters):
    engine = hf_engine(tiny_model_dir, tiny_adapters, batch_size=4, dtype="bfloat16")
    assert engine.dtype == "bfloat16"
    import torch

    assert {p.dtype for p in engine.model.parameters()} == {torch.bfloat16}
    assert len(engine.generate([R.sql_generation("q", SMALL.tables)], SQL_GENERATION, 3)) == 1
    with pytest.raises(ValueError, match="dtype"):
        InferenceArguments(base="m", sql_adapter="s", gold_tables=True, dtype="float64")


# --- chunks and --resume ---------------------------------------------------------------------------


class Crashing(Reader):
    """Fails on the n-th SQL call (after n-1 chunks were appended)."""

    def __init__(self, fail_on: int | None = None):
        super().__init__()
        self.fail_on, self.sql_calls = fail_on, 0

    def generate(self, prompts, adapter, max_new_tokens):
        if adapter == SQL_GENERATION:
            self.sql_calls += 1
            if self.sql_calls == self.fail_on:
                raise RuntimeError("killed")
        return super().generate(prompts, adapter, max_new_tokens)


def test_chunks_are_appended_as_they_complete_and_resume_finishes_the_run(tmp_path):
    from lrsql_plugin.inference.run import run_inference
    from lrsql_plugin.sources.spider import load_spider
    from tests.conftest import REPO_ROOT

    data = load_spider(REPO_ROOT / "datasets" / "demo", questions=["dev.json"])
    args = InferenceArguments(base="m", schema_link_adapter="l", sql_adapter="s", chunk_size=4, batch_size=2,
                              limit=10, tables_per_slice=4, dtype="float32")
    full = run_inference(data, args, tmp_path / "full", engine=Reader(), progress=False)
    engine = Crashing(fail_on=2)
    with pytest.raises(RuntimeError, match="killed"):
        run_inference(data, args, tmp_path / "cut", engine=engine, progress=False)
    assert len((tmp_path / "cut" / "predictions.jsonl").read_text().splitlines()) == 4  # the first chunk
    assert max(len(qs) for a, qs in engine.calls if a == SQL_GENERATION) == 4  # the whole chunk reaches the engine in one call
    args.resume = True
    resumed = run_inference(data, args, tmp_path / "cut", engine=Reader(), progress=False)
    assert resumed == full and len(full) == 10
    assert (tmp_path / "cut" / "predictions.jsonl").read_bytes() == (tmp_path / "full" / "predictions.jsonl").read_bytes()
    settings = json.loads((tmp_path / "cut" / "inference_settings.json").read_text())
    assert settings["dtype"] == "float32" and settings["chunk_size"] == 4
