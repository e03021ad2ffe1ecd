"""Sources (SPEC §3.1): Spider, BIRD and any SQLite produce the same schema model and examples."""

from __future__ import annotations

import json
import shutil
import sqlite3

from lrsql_plugin.sources.bird import load_bird
from lrsql_plugin.sources.spider import load_spider
from lrsql_plugin.sources.spider_tables import load_tables_json
from lrsql_plugin.sources.sqlite_folder import introspect_sqlite, load_sqlite_folder
from tests.convert.conftest import DEMO, run_convert
from tests.fixtures.prompt_rows import request_part


def fk_triples(db) -> set[tuple[str, str, str, str]]:
    return {(t.name.lower(), fk.column.lower(), fk.ref_table.lower(), fk.ref_column.lower()) for t in db.tables for fk in t.foreign_keys}


def test_introspected_department_store_matches_tables_json(spider_dir):
    path = spider_dir / "database/department_store/department_store.sqlite"
    introspected = introspect_sqlite(path)
    declared = load_tables_json(spider_dir / "tables.json")["department_store"]
    assert fk_triples(introspected) == fk_triples(declared)
    assert len(fk_triples(introspected)) > 10
    assert [t.name.lower() for t in introspected.tables] == [t.name.lower() for t in declared.tables]
    for t in introspected.tables:
        assert [c.name.lower() for c in t.columns] == [c.name.lower() for c in declared.table(t.name).columns]


def test_introspection_reads_composite_primary_keys():
    db = introspect_sqlite(DEMO / "database/lakeside_hospital/lakeside_hospital.sqlite")
    assert db.table("admission_procedures").primary_key == ["admission_id", "procedure_code"]


def test_demo_tables_json_agrees_with_its_databases():
    declared = load_tables_json(DEMO / "tables.json")
    for db_id, db in declared.items():
        real = introspect_sqlite(DEMO / "database" / db_id / f"{db_id}.sqlite")
        assert fk_triples(real) == fk_triples(db)
        assert {t.name: t.primary_key for t in real.tables} == {t.name: t.primary_key for t in db.tables}


def test_spider_train_split_reads_both_train_files(tmp_path):
    shutil.copy(DEMO / "tables.json", tmp_path / "tables.json")
    train = json.loads((DEMO / "train.json").read_text())
    (tmp_path / "train_spider.json").write_text(json.dumps(train[:10]))
    (tmp_path / "train_others.json").write_text(json.dumps(train[10:13]))
    data = load_spider(tmp_path, "train")
    assert len(data.examples) == 13
    assert {e.source_file.split("/")[-1] for e in data.examples} == {"train_spider.json", "train_others.json"}


def test_sqlite_source_converts_a_folder_and_jsonl(tmp_path):
    db_dir = tmp_path / "dbs"
    db_dir.mkdir()
    shutil.copy(DEMO / "database/orchard_coop/orchard_coop.sqlite", db_dir / "orchard_coop.sqlite")
    dev = [q for q in json.loads((DEMO / "dev.json").read_text()) if q["db_id"] == "orchard_coop"]
    qfile = tmp_path / "q.jsonl"
    qfile.write_text("".join(json.dumps({"db_id": q["db_id"], "question": q["question"], "sql": q["query"]}) + "\n" for q in dev))
    data = load_sqlite_folder(db_dir, qfile)
    assert len(data.examples) == len(dev) and not data.skipped
    result = run_convert("sqlite", "--db-dir", db_dir, "--questions", qfile, "--sample-values", "2", "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    first = json.loads((tmp_path / "out/sql_generation.json").read_text())[0]
    assert " e.g. " in first["input"]  # sample values read from the database


def make_bird(tmp_path):
    """A BIRD-layout folder built from the demo's orchard_coop database."""
    root = tmp_path / "bird"
    db_dir = root / "dev_databases/orchard_coop"
    (db_dir / "database_description").mkdir(parents=True)
    shutil.copy(DEMO / "database/orchard_coop/orchard_coop.sqlite", db_dir / "orchard_coop.sqlite")
    tables = [t for t in json.loads((DEMO / "tables.json").read_text()) if t["db_id"] == "orchard_coop"]
    (root / "dev_tables.json").write_text(json.dumps(tables))
    db = introspect_sqlite(db_dir / "orchard_coop.sqlite")
    t = db.tables[0]
    (db_dir / "database_description" / f"{t.name}.csv").write_bytes(
        (
            "original_column_name,column_name,column_description,data_format,value_description\n"
            f"{t.columns[1].name},x,the grower's legal name,text,\n"
        ).encode("latin-1")
    )
    dev = [q for q in json.loads((DEMO / "dev.json").read_text()) if q["db_id"] == "orchard_coop"]
    (root / "dev.json").write_text(
        json.dumps(
            [
                {"question_id": i, "db_id": "orchard_coop", "question": q["question"], "evidence": "coop = cooperative",
                 "SQL": q["query"], "difficulty": "simple"}
                for i, q in enumerate(dev)
            ]
        )
    )
    return root, t, len(dev)


def test_bird_source_reads_evidence_difficulty_and_descriptions(tmp_path):
    root, table, n = make_bird(tmp_path)
    data = load_bird(root, "dev")
    assert len(data.examples) == n
    assert data.examples[0].evidence == "coop = cooperative" and data.examples[0].difficulty == "simple"
    described = {c.name: c.description for c in data.databases["orchard_coop"].table(table.name).columns if c.description}
    assert described == {table.columns[1].name: "x: the grower's legal name"}  # column_name "x" adds information
    assert data.notes == ["descriptions: 1 of 1 columns matched"]
    result = run_convert("bird", "--bird-dir", root, "--split", "dev", "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    for kind in ("schema_link", "sql_generation"):
        rec = json.loads((tmp_path / f"out/{kind}.json").read_text())[0]
        assert "Evidence: coop = cooperative" in request_part(rec)
    full = json.loads((tmp_path / "out/full_schema_sql.json").read_text())[0]["input"]
    assert "-- x: the grower's legal name" in full
    sqlite3.connect(":memory:").executescript(full)
