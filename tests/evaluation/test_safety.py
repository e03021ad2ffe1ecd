"""Predictions are model output: they run read-only, one statement, and cannot touch any file.

Every test works on a private copy of the Spider-DK databases and compares the sha256 of every
file under it (and the absence of any new file) before and after.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from lrsql_plugin.evaluation import EvalItem, evaluate
from lrsql_plugin.evaluation.execution import first_statement, open_read_only, run_query
from lrsql_plugin.hparams.eval_args import EvalArguments
from tests.evaluation.conftest import tree_hashes

GOLD = "SELECT name FROM singer"


def hostile_predictions(tmp_path: Path) -> list[str]:
    return [
        "DROP TABLE singer",
        "DELETE FROM singer",
        f"ATTACH DATABASE '{tmp_path / 'x.db'}' AS x",
        "PRAGMA writable_schema=1",
        f"VACUUM INTO '{tmp_path / 'y.db'}'",
        "VACUUM",
        "SELECT load_extension('x')",
        "UPDATE singer SET name = 'hacked'",
        "CREATE TABLE stolen (x)",
        "INSERT INTO singer (Singer_ID, Name) VALUES (99, 'intruder')",
        "REPLACE INTO singer (Singer_ID, Name) VALUES (1, 'intruder')",
        "ALTER TABLE singer RENAME TO singer_old",
        "CREATE TEMP TABLE scratch AS SELECT * FROM singer",
        "WITH s AS (SELECT 1) DELETE FROM singer",
        "BEGIN IMMEDIATE",
        "DETACH DATABASE main",
        "ANALYZE",
        "REINDEX",
    ]


def test_every_hostile_prediction_scores_zero_with_a_reason_and_changes_no_file(dk_db_root: Path, tmp_path: Path):
    predictions = hostile_predictions(tmp_path)
    before = tree_hashes(dk_db_root)
    items = [EvalItem("new_concert_singer", GOLD, p) for p in predictions]
    result = evaluate(items, dk_db_root, EvalArguments(workers=2), progress=False)
    for prediction, verdict in zip(predictions, result.examples):
        assert not verdict.match, prediction
        assert verdict.outcome == "prediction_error", prediction
        assert "not authorized" in verdict.reason or "authorization denied" in verdict.reason, (prediction, verdict.reason)
    assert tree_hashes(dk_db_root) == before
    assert not (tmp_path / "x.db").exists() and not (tmp_path / "y.db").exists()


def test_only_the_first_statement_runs_and_the_drop_never_does(dk_db_root: Path):
    before = tree_hashes(dk_db_root)
    items = [
        EvalItem("new_concert_singer", GOLD, "SELECT name FROM singer; DROP TABLE singer"),
        EvalItem("new_concert_singer", "SELECT 1", "SELECT 1; DROP TABLE singer"),
        EvalItem("new_concert_singer", GOLD, "SELECT name FROM singer WHERE name = ';'; DELETE FROM singer"),
    ]
    result = evaluate(items, dk_db_root, EvalArguments(workers=1), progress=False)
    assert [e.reason for e in result.examples] == ["match", "match", "mismatch"]
    assert tree_hashes(dk_db_root) == before
    with sqlite3.connect(dk_db_root / "new_concert_singer" / "new_concert_singer.sqlite") as conn:
        assert conn.execute("SELECT count(*) FROM singer").fetchone() == (6,)
    conn.close()


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("SELECT 1; DROP TABLE singer", "SELECT 1;"),
        ("SELECT ';' AS s; DELETE FROM t", "SELECT ';' AS s;"),
        ("SELECT 1 -- ; comment\n; VACUUM", "SELECT 1 -- ; comment\n;"),
        ("SELECT 1", "SELECT 1"),
    ],
)
def test_first_statement_follows_sqlites_tokenizer(text: str, first: str):
    assert first_statement(text) == first


def test_the_connection_itself_refuses_writes(dk_db_root: Path):
    path = dk_db_root / "new_orchestra" / "new_orchestra.sqlite"
    before = tree_hashes(dk_db_root)
    conn = open_read_only(path)
    try:
        outcome = run_query(conn, "DELETE FROM conductor", timeout=5, max_rows=10)
        assert outcome.status == "error"
        with pytest.raises(sqlite3.DatabaseError):
            conn.execute("DELETE FROM conductor")
        assert run_query(conn, "SELECT count(*) FROM conductor", timeout=5, max_rows=10).rows == [(12,)]
    finally:
        conn.close()
    assert tree_hashes(dk_db_root) == before

