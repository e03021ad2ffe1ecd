"""Issue 11 (1): every output path is checked before work starts; stale files need --overwrite."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.hardening.conftest import DEMO, no_traceback, run_convert, run_eval


def gold_and_pred(tmp_path: Path) -> tuple[Path, Path]:
    dev = json.loads((DEMO / "dev.json").read_text(encoding="utf-8"))[:5]
    gold = tmp_path / "gold.txt"
    gold.write_text("".join(f"{q['query']}\t{q['db_id']}\n" for q in dev), encoding="utf-8")
    pred = tmp_path / "pred.txt"
    pred.write_text("".join(f"{q['query']}\n" for q in dev), encoding="utf-8")
    return gold, pred


def eval_args(tmp_path: Path, out: Path, pred: Path | None = None) -> list[object]:
    gold, good_pred = gold_and_pred(tmp_path)
    return ["--gold", gold, "--pred", pred or good_pred, "--db", DEMO / "database", "--table", DEMO / "tables.json", "--out", out]


class TestEval:
    def test_out_is_an_existing_file_fails_before_any_input_is_read(self, tmp_path: Path):
        out = tmp_path / "results"
        out.write_text("not a folder")
        # the prediction file does not exist: the --out problem must be found first, before reading inputs
        result = run_eval(*eval_args(tmp_path, out, pred=tmp_path / "missing.txt"))
        no_traceback(result)
        assert result.exit_code == 2
        assert f"--out {out}: exists and is not a folder" in result.output
        assert out.read_text() == "not a folder"

    def test_out_below_a_file_fails(self, tmp_path: Path):
        (tmp_path / "file").write_text("x")
        result = run_eval(*eval_args(tmp_path, tmp_path / "file" / "sub"))
        assert result.exit_code == 2 and "is a file, so the folder cannot be created" in result.output

    @pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders; see test_faults' read-only mount")
    def test_unwritable_out_fails_before_work(self, tmp_path: Path):
        parent = tmp_path / "ro"
        parent.mkdir()
        parent.chmod(0o500)
        try:
            result = run_eval(*eval_args(tmp_path, parent / "results", pred=tmp_path / "missing.txt"))
        finally:
            parent.chmod(0o700)
        no_traceback(result)
        assert result.exit_code == 2 and "cannot write in" in result.output

    def test_stale_files_are_refused_then_replaced_with_overwrite(self, tmp_path: Path):
        out = tmp_path / "results"
        assert run_eval(*eval_args(tmp_path, out)).exit_code == 0
        # an earlier inference run left its predictions in the folder
        for name in ("predictions.jsonl", "pred.sql", "timings.jsonl"):
            (out / name).write_text("old\n")
        before = (out / "metrics.json").read_bytes()
        result = run_eval(*eval_args(tmp_path, out))
        assert result.exit_code == 2
        assert "lrsql-eval: error: --out" in result.output and "holds files of an earlier run (" in result.output
        assert all(n in result.output for n in ("metrics.json", "per_example.jsonl", "pred.sql", "predictions.jsonl", "timings.jsonl"))
        assert "--overwrite" in result.output
        assert (out / "metrics.json").read_bytes() == before
        result = run_eval(*eval_args(tmp_path, out), "--overwrite")
        assert result.exit_code == 0, result.output
        assert not any((out / n).exists() for n in ("predictions.jsonl", "pred.sql", "timings.jsonl"))
        assert json.loads((out / "metrics.json").read_text())["ex"] == 1.0

    def test_leftover_temporary_files_of_an_interrupted_write_are_removed(self, tmp_path: Path):
        out = tmp_path / "results"
        out.mkdir()
        (out / ".metrics.json.abc123.tmp").write_text("half")
        assert run_eval(*eval_args(tmp_path, out)).exit_code == 0
        assert not list(out.glob(".*.tmp"))

    def test_inference_with_stale_files_is_refused_before_the_engine_starts(self, tmp_path: Path):
        out = tmp_path / "results"
        out.mkdir()
        (out / "predictions.jsonl").write_text("{}\n")
        # nothing listens on port 9: if the check came after the engine, this would be a connection error
        result = run_eval("--api-base", "http://127.0.0.1:9/v1", "--engine", "openai", "--spider-dir", DEMO, "--out", out)
        no_traceback(result)
        assert result.exit_code == 2 and "holds files of an earlier run (predictions.jsonl)" in result.output

    def test_resume_keeps_its_meaning_and_excludes_overwrite(self, tmp_path: Path):
        out = tmp_path / "results"
        out.mkdir()
        (out / "predictions.jsonl").write_text("")
        both = run_eval("--api-base", "http://127.0.0.1:9/v1", "--engine", "openai", "--spider-dir", DEMO, "--out", out,
                        "--resume", "--overwrite")
        assert both.exit_code == 2 and "not both" in both.output
        # --resume passes the output check (it then fails on the closed port, with a clear message, exit 2)
        import os as _os

        _os.environ["LRSQL_OPENAI_RETRIES"] = "0"
        try:
            resumed = run_eval("--api-base", "http://127.0.0.1:9/v1", "--engine", "openai", "--spider-dir", DEMO,
                               "--tables-per-slice", "4", "--out", out, "--resume", "--limit", "1")
        finally:
            del _os.environ["LRSQL_OPENAI_RETRIES"]
        no_traceback(resumed)
        assert resumed.exit_code == 2 and "no answer after 1 attempts" in resumed.output
        assert "holds files" not in resumed.output


class TestConvert:
    def convert(self, out: Path, *extra: object):  # noqa: ANN201
        return run_convert("spider", "--spider-dir", DEMO, "--questions", "dev.json", "--tables-per-slice", "4",
                           "--out", out, *extra)

    def test_out_is_a_file(self, tmp_path: Path):
        out = tmp_path / "ds"
        out.write_text("x")
        result = self.convert(out)
        no_traceback(result)
        assert result.exit_code == 2 and "ds' is a file" in result.output  # click's own check of --out, exit 2

    def test_rerun_into_the_same_folder_needs_overwrite(self, tmp_path: Path):
        out = tmp_path / "ds"
        assert self.convert(out).exit_code == 0
        first = {p.name: p.read_bytes() for p in out.iterdir()}
        result = self.convert(out)
        assert result.exit_code == 2 and "holds files of an earlier run" in result.output and "dataset_info.json" in result.output
        again = self.convert(out, "--overwrite")
        assert again.exit_code == 0, again.output
        assert {p.name: p.read_bytes() for p in out.iterdir()} == first

    def test_existing_folder_with_other_files_is_fine(self, tmp_path: Path):
        out = tmp_path / "ds"
        out.mkdir()
        (out / "notes.txt").write_text("mine")
        assert self.convert(out).exit_code == 0
        assert (out / "notes.txt").read_text() == "mine"
