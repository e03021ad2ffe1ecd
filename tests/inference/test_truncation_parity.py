"""A prompt longer than cutoff_len is cut at inference as LLaMA-Factory cut it in training (issue 18, item 6)."""

from __future__ import annotations

import json

from lrsql_plugin.inference.engines.encoding import PromptEncoder
from lrsql_plugin.prompts.render import Prompt
from tests.convert.conftest import run_convert
from tests.fixtures.tiny_model import TINY_MODEL_TEMPLATE
from tests.inference.test_prompt_parity import llamafactory_rows

CUTOFF = 160


def test_over_long_prompts_are_cut_as_in_training(dk_dir, tiny_model_dir, tmp_path):
    out = tmp_path / "data"
    r = run_convert("spider", "--spider-dir", dk_dir, "--questions", "Spider-DK.json", "--limit", "3",
                    "--tables-per-slice", "3", "--cutoff-len", str(CUTOFF), "--out", out)
    assert r.exit_code == 0, r.output
    assert "longer than cutoff_len" in r.output  # the conversion warned
    samples = json.loads((out / "schema_link.json").read_text())
    rows = llamafactory_rows(tiny_model_dir, out, "lrsql_schema_link", TINY_MODEL_TEMPLATE, CUTOFF)
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
