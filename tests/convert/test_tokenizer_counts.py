"""Token counts with the target model's tokenizer (--tokenizer) and token-budget slicing."""

from __future__ import annotations

import json

from tests.convert.conftest import run_convert


def test_tokenizer_counts_are_exact_chat_template_lengths(dk_dir, tiny_model_dir, tmp_path):
    from transformers import AutoTokenizer

    result = run_convert("spider", "--spider-dir", dk_dir, "--questions", "Spider-DK.json", "--limit", "8",
                         "--tokenizer", tiny_model_dir, "--out", tmp_path)
    assert result.exit_code == 0, result.output
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["token_count"] == f"tokenizer {tiny_model_dir}"
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    rows = json.loads((tmp_path / "full_schema_sql.json").read_text())
    lengths = [
        len(tok.apply_chat_template(
            [{"role": "system", "content": r["system"]}, {"role": "user", "content": r["instruction"] + "\n" + r["input"]},
             {"role": "assistant", "content": r["output"]}], tokenize=True, return_dict=True)["input_ids"])
        for r in rows
    ]
    assert stats["kinds"]["full_schema_sql"]["total_tokens"]["max"] == max(lengths) > 100


def test_token_budget_slicing_keeps_every_slice_under_budget(dk_dir, tiny_model_dir, tmp_path):
    from transformers import AutoTokenizer

    budget = 120
    result = run_convert("spider", "--spider-dir", dk_dir, "--questions", "Spider-DK.json", "--limit", "8",
                         "--tokenizer", tiny_model_dir, "--tables-per-slice", "0", "--tokens-per-slice", str(budget),
                         "--out", tmp_path)
    assert result.exit_code == 0, result.output
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    rows = json.loads((tmp_path / "schema_link.json").read_text())
    assert len(rows) > 8
    for r in rows:
        tables = r["input"].count("CREATE TABLE")
        n = len(tok(r["input"], add_special_tokens=False)["input_ids"])
        assert n <= budget + 2 * tables or tables == 1, (n, tables)  # per-table counts add up to the slice
