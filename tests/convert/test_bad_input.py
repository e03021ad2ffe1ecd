"""Bad input: a message naming the file, the record and the reason; fatal errors exit 2 and write nothing."""

from __future__ import annotations

import json
import shutil

from tests.convert.conftest import DEMO, run_convert


def spider_copy(tmp_path):
    root = tmp_path / "spider"
    shutil.copytree(DEMO, root, ignore=shutil.ignore_patterns("*.py", "README.md"))
    return root


def convert(root, out, *extra):
    return run_convert("spider", "--spider-dir", root, "--split", "dev", "--out", out, *extra)


def assert_fatal(result, out, *fragments):
    assert result.exit_code == 2
    for f in fragments:
        assert f in result.output
    assert not out.exists()


def test_missing_tables_json_is_fatal(tmp_path):
    root = spider_copy(tmp_path)
    (root / "tables.json").unlink()
    assert_fatal(convert(root, tmp_path / "out"), tmp_path / "out", "tables.json: file not found")


def test_malformed_tables_json_is_fatal(tmp_path):
    root = spider_copy(tmp_path)
    (root / "tables.json").write_text('[{"db_id": "x",')
    assert_fatal(convert(root, tmp_path / "out"), tmp_path / "out", "tables.json, line 1: not valid JSON")


def test_inconsistent_tables_json_record_is_named(tmp_path):
    root = spider_copy(tmp_path)
    tables = json.loads((root / "tables.json").read_text())
    tables[1]["foreign_keys"].append([999, 1])
    (root / "tables.json").write_text(json.dumps(tables))
    result = convert(root, tmp_path / "out")
    assert_fatal(result, tmp_path / "out", "tables.json, record 2 (db_id", "inconsistent column/key indexes")


def test_malformed_question_file_is_fatal(tmp_path):
    root = spider_copy(tmp_path)
    (root / "dev.json").write_text("{not json")
    assert_fatal(convert(root, tmp_path / "out"), tmp_path / "out", "dev.json, line 1: not valid JSON")


def test_unknown_db_bad_sql_and_unknown_table_are_skipped_and_counted(tmp_path):
    root = spider_copy(tmp_path)
    dev = json.loads((root / "dev.json").read_text())
    dev[0]["db_id"] = "no_such_db"
    dev[1]["query"] = "SELECT name FROM"
    dev[2]["query"] = "SELECT * FROM invoices"
    del dev[3]["question"]
    (root / "dev.json").write_text(json.dumps(dev))
    out = tmp_path / "out"
    result = convert(root, out)
    assert result.exit_code == 0, result.output
    stats = json.loads((out / "stats.json").read_text())
    reasons = {r["record"]: r["reason"] for r in stats["skipped_records"]}
    assert stats["skipped"] == 4 and stats["converted"] == len(dev) - 4
    assert reasons[1] == "db_id 'no_such_db' has no schema"
    assert reasons[2].startswith("SQL does not parse")
    assert "not in database" in reasons[3] and "invoices" in reasons[3]
    assert "missing or non-string field(s): question" in reasons[4]
    assert "dev.json, record 1: db_id 'no_such_db' has no schema" in result.output


def test_missing_sqlite_is_fatal_when_sample_values_need_it(tmp_path):
    root = spider_copy(tmp_path)
    shutil.rmtree(root / "database/orchard_coop")
    result = convert(root, tmp_path / "out", "--sample-values", "2")
    assert_fatal(result, tmp_path / "out", "orchard_coop: sample values need the database's .sqlite file")


def test_sqlite_source_skips_questions_whose_database_is_missing(tmp_path):
    (tmp_path / "dbs").mkdir()
    shutil.copy(DEMO / "database/orchard_coop/orchard_coop.sqlite", tmp_path / "dbs")
    q = tmp_path / "q.jsonl"
    q.write_text(
        json.dumps({"db_id": "orchard_coop", "question": "How many growers?", "sql": "SELECT count(*) FROM growers"}) + "\n"
        + json.dumps({"db_id": "gone", "question": "x?", "sql": "SELECT 1 FROM t"}) + "\n"
    )
    result = run_convert("sqlite", "--db-dir", tmp_path / "dbs", "--questions", q, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "1 of 2 questions converted, 1 skipped" in result.output
    assert "q.jsonl, line 2: db_id 'gone' has no SQLite file" in result.output


def test_nothing_convertible_is_fatal(tmp_path):
    root = spider_copy(tmp_path)
    dev = json.loads((root / "dev.json").read_text())
    for d in dev:
        d["query"] = "SELEC nothing"
    (root / "dev.json").write_text(json.dumps(dev))
    assert_fatal(convert(root, tmp_path / "out"), tmp_path / "out", "no question could be converted")


def test_bad_option_values_are_rejected(tmp_path):
    root = spider_copy(tmp_path)
    assert_fatal(convert(root, tmp_path / "out", "--memory-noise", "1.5"), tmp_path / "out", "memory_noise")
    assert_fatal(convert(root, tmp_path / "out", "--tables-per-slice", "0"), tmp_path / "out", "tables_per_slice")
