"""``lrsql-eval`` from the command line: the official flags, our JSONL, BIRD, outputs and bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from lrsql_plugin.cli.evaluate import main
from lrsql_plugin.evaluation.report import OUTPUT_FILES

WRONG = "SELECT 'lrsql-wrong-answer'"
PERTURBED = {i for i in range(127) if i % 10 == 3}  # 13 predictions replaced by a wrong answer
SYNTAX_ERROR = 50  # and one by a syntax error


def run(*args: str) -> object:
    return CliRunner().invoke(main, [*args, "--no-progress"], catch_exceptions=False)


@pytest.fixture
def spider_files(tmp_path: Path, dk_questions: list[dict]) -> tuple[Path, Path]:
    """gold.txt / pred.txt in the official format for the 127 Spider-DK questions."""
    gold_lines, pred_lines = [], []
    for i, q in enumerate(dk_questions):
        sql = " ".join(q["query"].split())
        gold_lines.append(f"{sql}\t{q['db_id']}")
        pred_lines.append(WRONG if i in PERTURBED else "SELEC oops" if i == SYNTAX_ERROR else sql)
    gold = tmp_path / "gold.txt"
    pred = tmp_path / "pred.txt"
    gold.write_text("\n".join(gold_lines) + "\n", encoding="utf-8")
    pred.write_text("\n".join(pred_lines) + "\n", encoding="utf-8")
    return gold, pred


def test_drop_in_for_the_official_command_line(spider_files, dk_dir: Path, tmp_path: Path):
    gold, pred = spider_files
    out = tmp_path / "results"
    result = run("--gold", str(gold), "--pred", str(pred), "--db", str(dk_dir / "database"),
                 "--table", str(dk_dir / "tables.json"), "--etype", "exec", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUT_FILES)
    metrics = json.loads((out / "metrics.json").read_text())
    # 127 questions, 1 broken gold excluded; 13 wrong answers and 1 syntax error among the other 126
    assert metrics["overall"] == {"ex": 112 / 126, "total": 127, "scored": 126, "match": 112, "mismatch": 13,
                                  "prediction_error": 1, "timeout": 0, "gold_error": 1,
                                  "em": None, "em_scored": 0, "em_match": 0}  # --etype exec: no EM
    assert metrics["settings"]["semantics"] == "spider" and metrics["settings"]["distinct_removed"] is True
    assert metrics["settings"]["timeout_seconds"] == 30.0
    assert sorted(metrics["settings"]["databases"]) == ["new_concert_singer", "new_orchestra", "new_pets_1"]
    assert metrics["gold_errors"][0]["record"] == f"{gold}, line 77"
    examples = [json.loads(line) for line in (out / "per_example.jsonl").read_text().splitlines()]
    assert [e["index"] for e in examples] == list(range(127))
    assert {e["index"] for e in examples if e["reason"] == "mismatch"} == PERTURBED
    assert examples[SYNTAX_ERROR]["reason"].startswith("prediction error: near \"SELEC\": syntax error")
    assert examples[76]["reason"].startswith("gold error:")
    assert "EX 88.89% over 126 scored questions; 1 gold error(s) excluded" in result.output
    assert "all" in result.output and "medium" in result.output  # the summary table


def test_keep_distinct_and_semantics_flags_reach_the_report(spider_files, dk_dir: Path, tmp_path: Path):
    gold, pred = spider_files
    out = tmp_path / "results"
    result = run("--gold", str(gold), "--pred", str(pred), "--db", str(dk_dir / "database"), "--keep-distinct",
                 "--semantics", "bird", "--timeout", "5", "--workers", "1", "--max-rows", "1000", "--out", str(out))
    assert result.exit_code == 0, result.output
    settings = json.loads((out / "metrics.json").read_text())["settings"]
    assert (settings["semantics"], settings["keep_distinct"], settings["timeout_seconds"], settings["workers"],
            settings["max_rows"]) == ("bird", True, 5.0, 1, 1000)
    assert settings["flags"]["keep_distinct"] is True
    report = (out / "report.md").read_text()
    assert "| semantics | bird |" in report and "| timeout_seconds | 5.0 |" in report


def test_jsonl_input_with_linking_metrics(dk_dir: Path, tmp_path: Path):
    rows = [
        {"db_id": "new_concert_singer", "question": "How many singers?", "gold": "SELECT count(*) FROM singer",
         "prediction": "SELECT count(*) FROM singer", "predicted_tables": ["singer"]},
        {"db_id": "new_pets_1", "question": "Names of cat owners?",
         "gold": "SELECT T1.fname FROM student AS T1 JOIN has_pet AS T2 ON T1.stuid = T2.stuid "
                 "JOIN pets AS T3 ON T3.petid = T2.petid WHERE T3.pettype = 'cat'",
         "prediction": "SELECT fname FROM student", "predicted_tables": ["Student", "Pets"]},
    ]
    path = tmp_path / "items.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "results"
    result = run("--jsonl", str(path), "--db", str(dk_dir / "database"), "--out", str(out))
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["ex"] == 0.5
    # gold tables derived from the gold SQL: {singer} and {student, has_pet, pets}
    assert metrics["linking"] == {"count": 2, "exact_set_accuracy": 0.5, "recall1_rate": 0.5,
                                  "avg_precision": 1.0, "avg_recall": (1 + 2 / 3) / 2, "skipped_no_gold_tables": 0}
    examples = [json.loads(line) for line in (out / "per_example.jsonl").read_text().splitlines()]
    assert examples[1]["predicted_tables"] == ["Student", "Pets"] and examples[1]["question"] == "Names of cat owners?"


def test_spider_dir_supplies_databases_tables_and_dev_json(dk_dir: Path, dk_questions: list[dict], tmp_path: Path):
    spider = tmp_path / "spider"
    shutil.copytree(dk_dir / "database", spider / "database")
    shutil.copy(dk_dir / "tables.json", spider / "tables.json")
    (spider / "dev.json").write_text(json.dumps(dk_questions), encoding="utf-8")
    pred = tmp_path / "pred.txt"
    pred.write_text("".join(" ".join(q["query"].split()) + "\n" for q in dk_questions), encoding="utf-8")
    out = tmp_path / "results"
    result = run("--spider-dir", str(spider), "--pred", str(pred), "--out", str(out))
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert (metrics["ex"], metrics["overall"]["gold_error"]) == (1.0, 1)
    assert metrics["settings"]["db_root"] == str((spider / "database").resolve())
    assert metrics["gold_errors"][0]["record"] == f"{spider / 'dev.json'}, record 77"


def test_bird_dir_uses_bird_semantics_and_difficulty_buckets(dk_dir: Path, dk_questions: list[dict], tmp_path: Path):
    bird = tmp_path / "bird"
    shutil.copytree(dk_dir / "database", bird / "dev_databases")
    chosen = [q for q in dk_questions if q["db_id"] == "new_concert_singer"][:6]
    levels = ["simple", "moderate", "challenging"]
    dev = [{"question_id": i, "db_id": q["db_id"], "question": q["question"], "evidence": "", "SQL": q["query"],
            "difficulty": levels[i % 3]} for i, q in enumerate(chosen)]
    (bird / "dev.json").write_text(json.dumps(dev), encoding="utf-8")
    preds = {str(i): f"{q['SQL'] if i != 2 else WRONG}\t----- bird -----\t{q['db_id']}" for i, q in enumerate(dev)}
    pred = tmp_path / "predict_dev.json"
    pred.write_text(json.dumps(preds), encoding="utf-8")
    out = tmp_path / "results"
    result = run("--bird-dir", str(bird), "--pred", str(pred), "--out", str(out))
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["settings"]["semantics"] == "bird"
    assert metrics["bucket_kind"] == "difficulty"
    assert {k: (v["match"], v["total"]) for k, v in metrics["buckets"].items()} == {
        "simple": (2, 2), "moderate": (2, 2), "challenging": (1, 2)}


class TestBadInput:
    """Exit code 2, the file, line and reason on stderr, and no output files."""

    def check(self, result, out: Path, *expected: str) -> None:
        assert result.exit_code == 2
        message = result.stderr if hasattr(result, "stderr") else result.output
        for text in expected:
            assert text in message, message
        assert not out.exists() or not any(out.iterdir())

    def test_line_count_mismatch(self, spider_files, dk_dir: Path, tmp_path: Path):
        gold, pred = spider_files
        pred.write_text("\n".join(pred.read_text().splitlines()[:-1]) + "\n")
        out = tmp_path / "results"
        result = run("--gold", str(gold), "--pred", str(pred), "--db", str(dk_dir / "database"), "--out", str(out))
        self.check(result, out, f"{pred}: 126 predictions for 127 gold queries in {gold}: no prediction for {gold}, line 127")

    def test_unknown_db_id(self, spider_files, dk_dir: Path, tmp_path: Path):
        gold, pred = spider_files
        lines = gold.read_text().splitlines()
        lines[4] = lines[4].rsplit("\t", 1)[0] + "\tno_such_db"
        gold.write_text("\n".join(lines) + "\n")
        out = tmp_path / "results"
        result = run("--gold", str(gold), "--pred", str(pred), "--db", str(dk_dir / "database"),
                     "--table", str(dk_dir / "tables.json"), "--out", str(out))
        self.check(result, out, f"{gold}, line 5: unknown db_id 'no_such_db'")

    def test_missing_database(self, spider_files, dk_db_root: Path, tmp_path: Path):
        gold, pred = spider_files
        shutil.rmtree(dk_db_root / "new_orchestra")
        out = tmp_path / "results"
        result = run("--gold", str(gold), "--pred", str(pred), "--db", str(dk_db_root), "--out", str(out))
        first_orchestra = 1 + next(i for i, line in enumerate(gold.read_text().splitlines()) if line.endswith("\tnew_orchestra"))
        self.check(result, out, f"{gold}, line {first_orchestra}: missing database for db_id 'new_orchestra'")

    def test_bad_settings_are_usage_errors(self, spider_files, dk_dir: Path):
        gold, pred = spider_files
        result = run("--gold", str(gold), "--pred", str(pred), "--db", str(dk_dir / "database"), "--timeout", "0")
        assert result.exit_code == 2 and "timeout must be positive" in result.output

    def test_exact_match_without_schemas_is_refused_clearly(self, spider_files, dk_dir: Path):
        gold, pred = spider_files
        result = run("--gold", str(gold), "--pred", str(pred), "--db", str(dk_dir / "database"), "--etype", "match")
        assert result.exit_code == 2 and "needs the schemas: give --table" in result.output
