"""Prompt parity (SPEC §3.9): the token ids of an inference prompt equal the training prompt's ids,
as LLaMA-Factory's own SFT preprocessing builds them from the emitted dataset."""

from __future__ import annotations

import json

import pytest

from lrsql_plugin.convert import SchemaContext, database_renderer
from lrsql_plugin.hparams.infer_args import InferenceArguments
from lrsql_plugin.inference.engines.encoding import PromptEncoder
from lrsql_plugin.inference.run import slicing_arguments
from lrsql_plugin.manifest import apply_manifest, load_manifest
from lrsql_plugin.prompts import PromptRenderer
from lrsql_plugin.sources.spider import load_spider
from lrsql_plugin.tokens import load_token_counter
from tests.convert.conftest import run_convert
from tests.fixtures.tiny_model import TINY_MODEL_TEMPLATE

IGNORE_INDEX = -100


def llamafactory_rows(model_dir, dataset_dir, dataset, template, cutoff_len=4096):
    """(input_ids up to the first supervised label, answer length) per sample, from LLaMA-Factory's SFT
    preprocessing at ``cutoff_len``."""
    from llamafactory.data import get_dataset, get_template_and_fix_tokenizer
    from llamafactory.hparams import get_train_args

    model_args, data_args, training_args, _, _ = get_train_args(
        {
            "model_name_or_path": str(model_dir), "stage": "sft", "do_train": True, "finetuning_type": "lora",
            "dataset": dataset, "dataset_dir": str(dataset_dir), "template": template, "cutoff_len": cutoff_len,
            "output_dir": str(dataset_dir / "_unused"), "overwrite_cache": True, "report_to": "none",
            "preprocessing_num_workers": None,
        }
    )
    from llamafactory.model import load_tokenizer

    tokenizer = load_tokenizer(model_args)["tokenizer"]
    tmpl = get_template_and_fix_tokenizer(tokenizer, data_args)
    ds = get_dataset(tmpl, model_args, data_args, training_args, "sft", tokenizer=tokenizer)["train_dataset"]
    out = []
    for row in ds:
        first_label = next(i for i, lab in enumerate(row["labels"]) if lab != IGNORE_INDEX)
        out.append((row["input_ids"][:first_label], len(row["input_ids"]) - first_label))
    return out


def llamafactory_prompt_ids(model_dir, dataset_dir, dataset, template):
    """input_ids up to the first supervised label, from LLaMA-Factory's SFT preprocessing."""
    return [ids for ids, _ in llamafactory_rows(model_dir, dataset_dir, dataset, template)]


@pytest.mark.parametrize(("template", "layout"), [
    (TINY_MODEL_TEMPLATE, "slice-first"), ("qwen", "slice-first"), (TINY_MODEL_TEMPLATE, "question-first"),
    (TINY_MODEL_TEMPLATE, "legacy"),
])
def test_inference_prompt_ids_equal_training_prompt_ids(dk_dir, tiny_model_dir, tmp_path, template, layout):
    """Inference reads the layout from the conversion's manifest (``--dataset``); a manifest of a version
    before layouts (``legacy``: question-first prompts, no ``prompt_layout`` recorded) keeps its own."""
    out = tmp_path / "data"
    r = run_convert("spider", "--spider-dir", dk_dir, "--questions", "Spider-DK.json", "--limit", "6",
                    "--tables-per-slice", "2", "--prompt-layout", "question-first" if layout == "legacy" else layout,
                    "--out", out)
    assert r.exit_code == 0, r.output
    manifest = json.loads((out / "manifest.json").read_text())
    if layout == "legacy":
        del manifest["inference"]["prompt_layout"]
        (out / "manifest.json").write_text(json.dumps(manifest))
    first = json.loads((out / "schema_link.json").read_text())[0]
    starts_with_schema = first["instruction"].startswith("CREATE TABLE")
    assert starts_with_schema == (layout == "slice-first")
    train_link = llamafactory_prompt_ids(tiny_model_dir, out, "lrsql_schema_link", template)
    train_sql = llamafactory_prompt_ids(tiny_model_dir, out, "lrsql_sql_generation", template)

    # Rebuild the same prompts the way inference does: slicing and renderer from the inference settings.
    given = {"base": str(tiny_model_dir), "schema_link_adapter": "x", "sql_adapter": "x", "template": template,
             "dataset": str(out)}
    args = InferenceArguments(**apply_manifest(load_manifest(out), given, explicit=set()))
    conv = slicing_arguments(args)
    assert conv.prompt_layout == ("question-first" if layout == "legacy" else layout)
    data = load_spider(dk_dir, questions=["Spider-DK.json"])
    encoder = PromptEncoder(str(tiny_model_dir), template)
    counter = load_token_counter(None)
    base = PromptRenderer(layout=conv.prompt_layout)
    link_ids, sql_ids = [], []
    for ex in data.examples[:6]:
        db = data.databases[ex.db_id]
        ctx = SchemaContext(db, database_renderer(base, db, data, conv), conv, counter)
        slicing = ctx.slicings()[0]
        questions = {json.loads(line)["index"]: json.loads(line) for line in (out / "questions.jsonl").read_text().splitlines()}
        gold = questions[ex.index]["gold_tables"]
        memory: list[str] = []
        for i, names in enumerate(slicing.slices):
            tables = [db.table(n) for n in names]
            link_ids.append(encoder.encode(ctx.renderer.schema_link(ex.question, tables, [], part=i + 1, parts=len(slicing.slices))))
            if memory:
                link_ids.append(encoder.encode(ctx.renderer.schema_link(ex.question, tables, memory, part=i + 1, parts=len(slicing.slices))))
            memory += [n for n in names if n in gold]
        sql_ids.append(encoder.encode(ctx.renderer.sql_generation(ex.question, db.subset(gold))))
    assert link_ids == train_link
    assert sql_ids == train_sql
    assert len(train_link) > len(train_sql) == 6


@pytest.mark.parametrize("with_tokenizer", [False, True])
def test_token_budget_slicing_at_inference_equals_the_conversions(dk_dir, tiny_model_dir, tmp_path, with_tokenizer):
    tok = ["--tokenizer", str(tiny_model_dir)] if with_tokenizer else []
    out = tmp_path / "data"
    r = run_convert("spider", "--spider-dir", dk_dir, "--questions", "Spider-DK.json", "--limit", "20",
                    "--tables-per-slice", "0", "--tokens-per-slice", "90", *tok, "--out", out)
    assert r.exit_code == 0, r.output
    trained = {q["db_id"]: q["slices"] for q in map(json.loads, (out / "questions.jsonl").read_text().splitlines())}
    args = InferenceArguments(base=str(tiny_model_dir), schema_link_adapter="x", sql_adapter="x", tables_per_slice=0,
                              tokens_per_slice=90, tokenizer=str(tiny_model_dir) if with_tokenizer else None)
    conv = slicing_arguments(args)
    data = load_spider(dk_dir, questions=["Spider-DK.json"])
    counter = load_token_counter(conv.tokenizer)
    for db_id, slices in trained.items():
        db = data.databases[db_id]
        ctx = SchemaContext(db, database_renderer(PromptRenderer(), db, data, conv), conv, counter)
        assert [list(s) for s in ctx.slicings()[0].slices] == slices
    assert any(len(s) > 1 for s in trained.values())
