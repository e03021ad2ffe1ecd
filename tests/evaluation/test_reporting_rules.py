"""Reports hide nothing (issue 10): fallbacks, gold errors, broken and missing databases, official flags.

All on the 127 real Spider-DK questions (one of whose gold queries is itself broken: line 77).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from lrsql_plugin.cli.evaluate import main
from lrsql_plugin.evaluation.report import error_kind

REAL_BROKEN_GOLD = 76  # 0-based index of the Spider-DK gold query that fails on its database


def run(*args: str):
    return CliRunner().invoke(main, [*args, "--no-progress"], catch_exceptions=False)


def write_official(tmp_path: Path, questions: list[dict], gold_edits: dict[int, str] | None = None,
                   preds: dict[int, str] | None = None) -> tuple[Path, Path]:
    gold_lines, pred_lines = [], []
    for i, q in enumerate(questions):
        sql = " ".join(q["query"].split())
        gold_lines.append(f"{(gold_edits or {}).get(i, sql)}\t{q['db_id']}")
        pred_lines.append((preds or {}).get(i, sql))
    gold, pred = tmp_path / "gold.txt", tmp_path / "pred.txt"
    gold.write_text("\n".join(gold_lines) + "\n", encoding="utf-8")
    pred.write_text("\n".join(pred_lines) + "\n", encoding="utf-8")
    return gold, pred


def read_metrics(out: Path) -> dict:
    return json.loads((out / "metrics.json").read_text(encoding="utf-8"))


# ------------------------------------------------------------------------------------------ fallbacks


def test_fallback_count_and_rate_are_in_report_and_metrics(dk_dir: Path, dk_questions: list[dict], tmp_path: Path):
    rows = []
    for i, q in enumerate(dk_questions[:20]):
        fallback = i % 4 == 0  # 5 of 20
        rows.append({"db_id": q["db_id"], "gold": q["query"], "prediction": q["query"], "fallback": fallback,
                     "predicted_tables": [] if fallback else ["singer"]})
    jsonl = tmp_path / "preds.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "out"
    result = run("--jsonl", str(jsonl), "--db", str(dk_dir / "database"), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert read_metrics(out)["fallback"] == {"recorded": 20, "count": 5, "rate": 0.25}
    assert "**Full-schema fallback: 5 of 20 questions (25.0%)**" in (out / "report.md").read_text()
    assert "full-schema fallback: 5 of 20 questions (25.0%)" in result.output
    per_example = [json.loads(line) for line in (out / "per_example.jsonl").read_text().splitlines()]
    assert [e["fallback"] for e in per_example] == [r["fallback"] for r in rows]


def test_fallback_not_recorded_is_said_so(dk_dir: Path, dk_questions: list[dict], tmp_path: Path):
    gold, pred = write_official(tmp_path, dk_questions[:5])
    out = tmp_path / "out"
    assert run("--gold", str(gold), "--pred", str(pred), "--db", str(dk_dir / "database"), "--out", str(out)).exit_code == 0
    assert read_metrics(out)["fallback"] == {"recorded": 0, "count": 0, "rate": None}
    assert "Full-schema fallback: not recorded" in (out / "report.md").read_text()


def test_a_bad_fallback_field_names_file_and_line(dk_dir: Path, tmp_path: Path):
    jsonl = tmp_path / "preds.jsonl"
    good = {"db_id": "new_pets_1", "gold": "SELECT count(*) FROM pets", "prediction": "SELECT 1"}
    jsonl.write_text(json.dumps(good) + "\n" + json.dumps({**good, "fallback": "yes"}) + "\n", encoding="utf-8")
    result = run("--jsonl", str(jsonl), "--db", str(dk_dir / "database"))
    assert result.exit_code == 2
    assert f"{jsonl}, line 2: 'fallback' must be true or false" in result.output


# ------------------------------------------------------------------------------------------ gold errors

BREAKS = {  # index -> a gold that fails for a known reason
    0: "SELECT count(*) FROM no_such_table",
    1: "SELECT count(*) FROM no_such_table_either",
    2: "SELECT no_such_column FROM singer",
    3: "SELECT count(*) FROM singer WHERE",
    4: "SELECT name FROM singer WHERE no_such_column = 1",
    5: "SELECT count(*) FROM other_missing_table",
    6: "SELEC count(*) FROM singer",
    7: "SELECT missing_col_again FROM singer",
    8: "SELECT count(*) FROM yet_another_missing",
}


def test_error_kind_strips_particulars():
    assert error_kind("no such column: T1.x (on a.sqlite)") == "no such column"
    assert error_kind('near "FROM": syntax error (on a.sqlite)') == "syntax error"
    assert error_kind("timeout after 0.5 s (on a.sqlite)") == "timeout"
    assert error_kind("incomplete input (on a.sqlite)") == "incomplete input"


def test_too_many_gold_errors_exit_3_and_are_listed(dk_dir: Path, dk_questions: list[dict], tmp_path: Path):
    gold, pred = write_official(tmp_path, dk_questions, gold_edits=BREAKS)
    out = tmp_path / "out"
    result = run("--gold", str(gold), "--pred", str(pred), "--db", str(dk_dir / "database"), "--out", str(out))
    assert result.exit_code == 3, result.output
    failing = sorted([*BREAKS, REAL_BROKEN_GOLD])
    assert f"{len(failing)} of 127 questions ({100 * len(failing) / 127:.1f}%, more than 5%)" in result.stderr
    assert "--allow-gold-errors" in result.stderr
    listed = [int(m) for m in re.findall(r"^  index (\d+) ", result.stderr, flags=re.M)]
    assert listed == failing
    metrics = read_metrics(out)  # the outputs are written all the same, so the failures can be inspected
    assert metrics["gold_error_count"] == len(failing)
    assert metrics["gold_error_rate"] == pytest.approx(len(failing) / 127)
    reasons = metrics["gold_error_reasons"]
    assert reasons["no such table"] == 4 and reasons["no such column"] == 3
    assert sum(reasons.values()) == len(failing)
    report = (out / "report.md").read_text()
    assert f"Gold queries that fail (excluded from EX): {len(failing)} of 127" in report
    assert "| no such table | 4 |" in report and "| no such column | 3 |" in report


def test_allow_gold_errors_turns_the_failure_off(dk_dir: Path, dk_questions: list[dict], tmp_path: Path):
    gold, pred = write_official(tmp_path, dk_questions, gold_edits=BREAKS)
    result = run("--gold", str(gold), "--pred", str(pred), "--db", str(dk_dir / "database"), "--allow-gold-errors")
    assert result.exit_code == 0, result.output
    assert "gold errors by reason: no such table: 4, no such column: 3" in result.output


def test_gold_errors_at_most_5_percent_pass(dk_dir: Path, dk_questions: list[dict], tmp_path: Path):
    few = {i: BREAKS[i] for i in (0, 2, 6, 3, 4)}  # 5 + the real one = 6 of 127 = 4.7%
    gold, pred = write_official(tmp_path, dk_questions, gold_edits=few)
    result = run("--gold", str(gold), "--pred", str(pred), "--db", str(dk_dir / "database"))
    assert result.exit_code == 0, result.output
    assert "6 gold error(s) excluded" in result.output


# ------------------------------------------------------------------------------------------ databases


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda p: p.write_bytes(b""), "empty file (0 bytes)"),
        (lambda p: p.write_bytes(p.read_bytes()[:4096]), "truncated: 4096 bytes, but the header says"),
        (lambda p: p.write_bytes(b"PK\x03\x04" + b"\0" * 2000), "no SQLite header (2004 bytes)"),
    ],
    ids=["zero-bytes", "truncated", "foreign-file"],
)
def test_a_broken_database_is_a_hard_error_naming_it(damage, reason, dk_db_root: Path, dk_questions: list[dict], tmp_path: Path):
    broken = dk_db_root / "new_pets_1" / "new_pets_1.sqlite"
    damage(broken)
    gold, pred = write_official(tmp_path, dk_questions)
    out = tmp_path / "out"
    result = run("--gold", str(gold), "--pred", str(pred), "--db", str(dk_db_root), "--out", str(out))
    assert result.exit_code == 2, result.output
    assert f"{broken}: not a valid SQLite database: {reason}" in result.stderr
    assert not out.exists() or not any(out.iterdir())


def test_all_missing_databases_in_one_message(dk_db_root: Path, dk_questions: list[dict], tmp_path: Path):
    shutil.rmtree(dk_db_root / "new_orchestra")
    shutil.rmtree(dk_db_root / "new_pets_1")
    gold, pred = write_official(tmp_path, dk_questions)
    result = run("--gold", str(gold), "--pred", str(pred), "--db", str(dk_db_root))
    assert result.exit_code == 2
    first = {d: 1 + next(i for i, q in enumerate(dk_questions) if q["db_id"] == d) for d in ("new_orchestra", "new_pets_1")}
    order = sorted(first, key=first.get)
    assert f"{gold}, line {first[order[0]]}: missing database for db_id '{order[0]}'" in result.stderr
    assert f"1 more db_id(s) without a database: '{order[1]}' ({gold}, line {first[order[1]]})" in result.stderr
    assert "--skip-missing-db" in result.stderr


def test_skip_missing_db_scores_the_rest_and_says_how_many(dk_db_root: Path, dk_questions: list[dict], tmp_path: Path):
    shutil.rmtree(dk_db_root / "new_orchestra")
    left_out = sum(q["db_id"] == "new_orchestra" for q in dk_questions)
    gold, pred = write_official(tmp_path, dk_questions)
    out = tmp_path / "out"
    result = run("--gold", str(gold), "--pred", str(pred), "--db", str(dk_db_root), "--skip-missing-db", "--out", str(out))
    assert result.exit_code == 0, result.output
    metrics = read_metrics(out)
    assert metrics["skipped_missing_db"] == {"questions": left_out, "db_ids": {"new_orchestra": left_out}}
    assert metrics["overall"]["total"] == 127 - left_out
    assert f"--skip-missing-db: {left_out} question(s) left out, no database for new_orchestra ({left_out})" in result.output
    assert f"**{left_out} question(s) left out** (--skip-missing-db)" in (out / "report.md").read_text()
    per_example = [json.loads(line) for line in (out / "per_example.jsonl").read_text().splitlines()]
    assert all(e["db_id"] != "new_orchestra" for e in per_example)
    kept = [i for i, q in enumerate(dk_questions) if q["db_id"] != "new_orchestra"]
    assert [e["index"] for e in per_example] == kept  # indices stay those of the input


# ------------------------------------------------------------------------------------------ official flags


def test_official_flag_spellings_are_accepted(dk_dir: Path, dk_questions: list[dict], tmp_path: Path):
    # value mistakes: 'France' -> 'Nowhere' in the predictions of the questions about France
    preds = {i: " ".join(q["query"].split()).replace("'France'", "'Nowhere'") for i, q in enumerate(dk_questions)
             if "'France'" in q["query"]}
    assert len(preds) >= 2
    gold, pred = write_official(tmp_path, dk_questions, preds=preds)
    common = ["--gold", str(gold), "--pred", str(pred), "--db", str(dk_dir / "database"), "--table", str(dk_dir / "tables.json")]
    plain = run(*common, "--out", str(tmp_path / "plain"))
    assert plain.exit_code == 0, plain.output
    assert read_metrics(tmp_path / "plain")["overall"]["mismatch"] == len(preds)
    out = tmp_path / "out"
    result = run(*common, "--etype", "exec", "--keep_distinct", "--plug_value", "--progress_bar_for_each_datapoint",
                 "--out", str(out))
    assert result.exit_code == 0, result.output
    settings = read_metrics(out)["settings"]
    assert (settings["keep_distinct"], settings["plug_value"]) == (True, True)
    assert read_metrics(out)["overall"]["mismatch"] == 0  # the gold's values plugged in: the value mistakes match


def test_plug_value_makes_a_value_mistake_match(judge):
    gold = "SELECT count(*) FROM singer WHERE is_male = 'T'"
    wrong_value = "SELECT count(*) FROM singer WHERE is_male = 'X'"
    assert judge("new_concert_singer", gold, wrong_value).outcome == "mismatch"
    assert judge("new_concert_singer", gold, wrong_value, plug_value=True).match
    wrong_column = "SELECT count(*) FROM singer WHERE country = 'X'"
    assert not judge("new_concert_singer", gold, wrong_column, plug_value=True).match
