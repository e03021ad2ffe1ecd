"""The outputs: metrics.json, per_example.jsonl (input order), report.md and the PNG chart, written atomically."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lrsql_plugin.evaluation import EvalItem, EvalResult, evaluate, write_report
from lrsql_plugin.evaluation.report import OUTPUT_FILES
from lrsql_plugin.hparams.eval_args import EvalArguments


@pytest.fixture
def result(dk_dir: Path, dk_questions: list[dict]) -> EvalResult:
    items = [EvalItem(q["db_id"], q["query"], q["query"] if i % 4 else "SELECT 0", question=q["question"],
                      source="Spider-DK.json", record=str(i)) for i, q in enumerate(dk_questions)]
    return evaluate(items, dk_dir / "database", EvalArguments(workers=2, timeout=10), progress=False)


def test_all_files_are_written_and_no_temporary_file_is_left(result: EvalResult, tmp_path: Path):
    out = tmp_path / "nested" / "results"
    paths = write_report(result, out, flags={"gold": "Spider-DK.json"})
    assert sorted(paths) == sorted(OUTPUT_FILES)
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUT_FILES)
    assert paths["ex_by_bucket.png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_rewriting_replaces_the_files(result: EvalResult, tmp_path: Path):
    (tmp_path / "metrics.json").write_text("stale")
    write_report(result, tmp_path)
    assert json.loads((tmp_path / "metrics.json").read_text())["overall"]["total"] == 127
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(OUTPUT_FILES)


def test_metrics_hold_overall_buckets_counts_and_settings(result: EvalResult, tmp_path: Path):
    write_report(result, tmp_path, flags={"gold": "Spider-DK.json"})
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    overall = metrics["overall"]
    assert overall["total"] == 127 and overall["gold_error"] == 1 and overall["scored"] == 126
    assert overall["match"] + overall["mismatch"] + overall["prediction_error"] + overall["timeout"] == 126
    assert metrics["ex"] == overall["match"] / 126
    assert metrics["bucket_kind"] == "hardness"
    assert sum(b["total"] for b in metrics["buckets"].values()) == 127
    assert set(metrics["buckets"]) <= {"easy", "medium", "hard", "extra", "unknown"}
    settings = metrics["settings"]
    for key in ("semantics", "keep_distinct", "distinct_removed", "timeout_seconds", "max_rows", "workers", "db_root",
                "databases", "sqlite_version", "flags"):
        assert key in settings
    assert settings["databases"]["new_pets_1"][0]["file"] == "new_pets_1/new_pets_1.sqlite"


def test_per_example_has_one_line_per_input_in_input_order(result: EvalResult, tmp_path: Path):
    write_report(result, tmp_path)
    lines = (tmp_path / "per_example.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["index"] for r in records] == list(range(127))
    assert [r["record"] for r in records] == [f"Spider-DK.json, record {i}" for i in range(127)]
    for r in records:
        assert set(r) >= {"index", "db_id", "match", "reason", "hardness", "difficulty"}
        assert r["match"] == (r["reason"] == "match")
    assert records[76]["reason"].startswith("gold error: ") and records[76]["hardness"] is None
    assert records[1]["hardness"] in {"easy", "medium", "hard", "extra"}


def test_report_md_states_the_settings_and_lists_gold_errors(result: EvalResult, tmp_path: Path):
    write_report(result, tmp_path, flags={"gold": "Spider-DK.json"})
    report = (tmp_path / "report.md").read_text()
    assert report.startswith("# lrsql-eval report")
    for text in ("| semantics | spider |", "| distinct_removed | True |", "| timeout_seconds | 10.0 |",
                 "## EX by hardness", "![EX by hardness](ex_by_bucket.png)", "## Gold queries that fail",
                 "index 76 (new_pets_1; Spider-DK.json, record 76)", "- new_orchestra: new_orchestra/new_orchestra.sqlite"):
        assert text in report
