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
    assert stats["token_count"] == f"tokenizer {tiny_model_dir.name}"  # named, not a path of this machine
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


def test_batched_exact_counts_equal_per_sample_chat_template_counts(shared_data, tiny_model_dir):
    """The fast counter (schema texts counted once, batched short parts) is exact on a paper-style conversion."""
    from lrsql_plugin.convert import convert
    from lrsql_plugin.hparams.convert_args import ConvertArguments
    from lrsql_plugin.sources.spider import load_spider
    from lrsql_plugin.tokens import join_user, load_token_counter

    paper = shared_data / "lrsql-paper" / "dataset2"
    data = load_spider(shared_data / "spider", questions=[paper / "val.json"])
    args = ConvertArguments(tables_per_slice=[], tokens_per_slice=950, tokenizer=str(tiny_model_dir), limit=25,
                            merge_dbs=str(paper / "databases.txt"), sql_distractors=1, memory_noise=0.3)
    result = convert(data, args, progress=False)
    assert 8 <= len(result.questions[0]["slices"]) <= 12  # the paper's setting: 8-12 slices at a 950-token budget
    counter = load_token_counter(str(tiny_model_dir))
    items = [(s.prompt.system, s.prompt.instruction, s.prompt.input, s.output)
             for kind in result.samples.values() for s in kind]
    assert len(items) > 400
    fast = counter.samples(items)
    slow = [counter.sample(sy, join_user(ins, inp), out) for sy, ins, inp, out in items]
    assert fast == slow
