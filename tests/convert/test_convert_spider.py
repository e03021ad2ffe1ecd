"""lrsql-convert on real Spider and Spider-DK data, read back by LLaMA-Factory's own loader."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.convert.conftest import REPO, run_convert
from tests.fixtures.prompt_rows import request_part

KINDS = ("schema_link", "sql_generation", "full_schema_link", "full_schema_sql")


def load_with_llamafactory(out: Path) -> dict[str, list[dict]]:
    """Every dataset of dataset_info.json through LLaMA-Factory 0.9.5's loader (parse + align)."""
    from llamafactory.data.loader import _load_single_dataset
    from llamafactory.data.parser import get_dataset_list
    from llamafactory.hparams import DataArguments, ModelArguments
    from transformers import Seq2SeqTrainingArguments

    names = list(json.loads((out / "dataset_info.json").read_text()))
    data_args = DataArguments(dataset_dir=str(out))
    train_args = Seq2SeqTrainingArguments(output_dir=str(out / "_unused"))
    loaded = {}
    for name, attr in zip(names, get_dataset_list(names, str(out))):
        ds = _load_single_dataset(attr, ModelArguments(model_name_or_path="unused"), data_args, train_args)
        loaded[name] = [ds[i] for i in range(len(ds))]
    return loaded


def test_all_1034_spider_dev_questions_convert(spider_dev_out):
    stats = json.loads((spider_dev_out / "stats.json").read_text())
    assert stats["questions"] == 1034 and stats["converted"] == 1034 and stats["skipped"] == 0
    assert {k: v["samples"] for k, v in stats["kinds"].items() if k != "schema_link"} == {
        "sql_generation": 1034,
        "full_schema_link": 1034,
        "full_schema_sql": 1034,
    }


def test_llamafactory_loads_every_emitted_dataset(spider_dev_out):
    loaded = load_with_llamafactory(spider_dev_out)
    assert sorted(loaded) == sorted(f"lrsql_{k}" for k in KINDS)
    for kind in KINDS:
        records = json.loads((spider_dev_out / f"{kind}.json").read_text())
        rows = loaded[f"lrsql_{kind}"]
        assert len(rows) == len(records) > 0
        # LLaMA-Factory sees exactly our system prompt, the question before the schema, our target
        first, row = records[0], rows[0]
        assert row["_system"] == first["system"]
        assert row["_prompt"] == [{"role": "user", "content": first["instruction"] + "\n" + first["input"]}]
        assert row["_response"] == [{"role": "assistant", "content": first["output"]}]


def test_gold_tables_partition_over_slices_and_targets_union_to_gold(spider_dev_out):
    questions = [json.loads(line) for line in (spider_dev_out / "questions.jsonl").read_text().splitlines()]
    samples = json.loads((spider_dev_out / "schema_link.json").read_text())
    assert len(questions) == 1034
    by_question: dict[str, set[str]] = {}
    pos = 0
    for q in questions:
        slices = q["slices"]
        flat = [t for s in slices for t in s]
        assert len(flat) == len(set(flat))  # a table is in exactly one slice
        for g in q["gold_tables"]:
            assert sum(g in s for s in slices) == 1
        # the question's samples are consecutive: one per slice plus one per slice after the first gold hit
        first_hit = min(i for i, s in enumerate(slices) if set(s) & set(q["gold_tables"]))
        n = len(slices) + (len(slices) - first_hit - 1)
        targets = set()
        for s in samples[pos : pos + n]:
            assert request_part(s).startswith("Question: " + q["question"])
            if s["output"] != "None":
                targets |= set(s["output"].split(", "))
        pos += n
        by_question[q["question"]] = targets
        assert targets == set(q["gold_tables"]), q["sql"]
    assert pos == len(samples)


def test_same_seed_gives_byte_identical_output(dk_dir, tmp_path):
    outs = []
    for run in ("a", "b"):
        out = tmp_path / run
        args = ["spider", "--spider-dir", dk_dir, "--questions", "Spider-DK.json", "--out", out]
        result = run_convert(*args, "--tables-per-slice", "2,3", "--orders", "2", "--memory-noise", "0.3",
                             "--sql-distractors", "1", "--seed", "7")
        assert result.exit_code == 0, result.output
        outs.append({p.name: p.read_bytes() for p in sorted(out.iterdir())})
    assert outs[0] == outs[1]
    assert set(outs[0]) == {*(f"{k}.json" for k in KINDS), "dataset_info.json", "questions.jsonl", "stats.json",
                            "report.md", "prompt_lengths.png", "manifest.json"}
    assert outs[0]["prompt_lengths.png"].startswith(b"\x89PNG")


def test_spider_dk_converts_and_reports_its_broken_gold(dk_dir, tmp_path):
    result = run_convert("spider", "--spider-dir", dk_dir, "--questions", "Spider-DK.json", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    assert "534 of 535 questions converted, 1 skipped" in result.output
    assert "Spider-DK.json, record 77: SQL does not parse" in result.output
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["skipped_records"] == [
        {"file": "Spider-DK.json", "record": 77, "reason": stats["skipped_records"][0]["reason"]}  # no machine path
    ]
    assert "T1.LName  T1.age" not in (tmp_path / "sql_generation.json").read_text()


def test_console_script_help_and_sharegpt_format(dk_dir, tmp_path):
    exe = Path(sys.executable).parent / "lrsql-convert"
    help_text = subprocess.run([exe, "spider", "--help"], capture_output=True, text=True, check=True).stdout
    assert "--tables-per-slice" in help_text and "--cutoff-len" in help_text
    out = tmp_path / "sg"
    proc = subprocess.run(
        [exe, "spider", "--spider-dir", dk_dir, "--questions", "Spider-DK.json", "--limit", "20", "--format", "sharegpt",
         "--out", out],
        capture_output=True, text=True, cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    assert "lrsql-convert" in proc.stderr and "q/s" in proc.stderr  # the progress bar, with its rate
    info = json.loads((out / "dataset_info.json").read_text())
    assert info["lrsql_sql_generation"]["formatting"] == "sharegpt"
    loaded = load_with_llamafactory(out)
    assert len(loaded["lrsql_sql_generation"]) == 20


@pytest.mark.parametrize("cutoff,expect_over", [(64, True), (100000, False)])
def test_cutoff_len_overflow_is_counted(dk_dir, tmp_path, cutoff, expect_over):
    result = run_convert("spider", "--spider-dir", dk_dir, "--questions", "Spider-DK.json", "--limit", "10",
                         "--cutoff-len", str(cutoff), "--out", tmp_path)
    stats = json.loads((tmp_path / "stats.json").read_text())
    over = {k: v["over_cutoff"] for k, v in stats["kinds"].items()}
    assert (over["full_schema_sql"] == 10) is expect_over
    assert result.exit_code == 0
