"""A prompt longer than cutoff_len is cut at inference as LLaMA-Factory cut it in training (issue 18, item 6)."""

from __future__ import annotations

import json

from lrsql_plugin.inference.engines.encoding import PromptEncoder
from lrsql_plugin.prompts.render import Prompt
from tests.convert.conftest import run_convert
from tests.fixtures.tiny_model import TINY_MODEL_TEMPLATE

IGNORE_INDEX = -100
CUTOFF = 160


def training_rows(model_dir, dataset_dir, dataset, cutoff):
    """(prompt ids, answer length) per sample after LLaMA-Factory's SFT preprocessing at ``cutoff``."""
    from llamafactory.data import get_dataset, get_template_and_fix_tokenizer
    from llamafactory.hparams import get_train_args
    from llamafactory.model import load_tokenizer

    model_args, data_args, training_args, _, _ = get_train_args({
        "model_name_or_path": str(model_dir), "stage": "sft", "do_train": True, "finetuning_type": "lora",
        "dataset": dataset, "dataset_dir": str(dataset_dir), "template": TINY_MODEL_TEMPLATE, "cutoff_len": cutoff,
        "output_dir": str(dataset_dir / "_unused"), "overwrite_cache": True, "report_to": "none",
        "preprocessing_num_workers": None,
    })
    tokenizer = load_tokenizer(model_args)["tokenizer"]
    tmpl = get_template_and_fix_tokenizer(tokenizer, data_args)
    ds = get_dataset(tmpl, model_args, data_args, training_args, "sft", tokenizer=tokenizer)["train_dataset"]
    out = []
    for row in ds:
        first = next(i for i, lab in enumerate(row["labels"]) if lab != IGNORE_INDEX)
        out.append((row["input_ids"][:first], len(row["input_ids"]) - first))
    return out


def test_over_long_prompts_are_cut_as_in_training(dk_dir, tiny_model_dir, tmp_path):
    out = tmp_path / "data"
    r = run_convert("spider", "--spider-dir", dk_dir, "--questions", "Spider-DK.json", "--limit", "3",
                    "--tables-per-slice", "3", "--cutoff-len", str(CUTOFF), "--out", out)
    assert r.exit_code == 0, r.output
    assert "longer than cutoff_len" in r.output  # the conversion warned
    samples = json.loads((out / "schema_link.json").read_text())
    rows = training_rows(tiny_model_dir, out, "lrsql_schema_link", CUTOFF)
    assert len(rows) == len(samples)
    encoder = PromptEncoder(str(tiny_model_dir), TINY_MODEL_TEMPLATE)
    full = [encoder.encode(Prompt(s["system"], s["instruction"], s["input"])) for s in samples]
    encoder.cutoff_len = CUTOFF
    cut = 0
    for s, whole, (train_ids, answer_len) in zip(samples, full, rows):
        ids = encoder.encode(Prompt(s["system"], s["instruction"], s["input"]), answer_tokens=answer_len, adapter="link")
        assert ids == train_ids  # the answer budget equal to the trained answer's length: the same cut
        cut += len(whole) > len(ids)
    assert cut > 0 and encoder.truncated == {"link": cut}
