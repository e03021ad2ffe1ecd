"""CTE scoping in gold-table extraction (shared by the converter and the linking metrics), on real databases.

Each query runs on the real database first (so it is valid SQLite with the meaning claimed), then
its gold tables are checked, and for the linking metrics a prediction of exactly those tables must
score an exact set.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from lrsql_plugin.evaluation import EvalItem, evaluate
from lrsql_plugin.hparams.eval_args import EvalArguments
from lrsql_plugin.schema.gold_tables import GoldTableError, gold_tables
from lrsql_plugin.sources.spider_tables import load_tables_json

# (db_id, SQL, gold tables in schema order)
CASES = {
    # a CTE named like a real table shadows it in the main query ...
    "cte_shadows_table": (
        "department_store",
        "WITH Customers AS (SELECT product_id FROM Products WHERE product_price > 1000) SELECT count(*) FROM customers",
        ["Products"],
    ),
    # ... but only where it is in scope: a CTE inside one branch of a UNION hides nothing in the other branch
    "cte_in_one_union_branch": (
        "department_store",
        "SELECT z FROM (WITH customers AS (SELECT staff_id AS z FROM Staff) SELECT z FROM customers) "
        "UNION SELECT customer_id FROM Customers",
        ["Staff", "Customers"],
    ),
    # a CTE heading a UNION is in scope in both branches
    "cte_heading_a_union": (
        "department_store",
        "WITH Products AS (SELECT supplier_id AS v FROM Suppliers) SELECT v FROM products "
        "UNION SELECT v FROM Products",
        ["Suppliers"],
    ),
    # nested WITH: the inner body reads the outer CTE, the outer body a real table
    "nested_with": (
        "new_concert_singer",
        "WITH s AS (SELECT singer_id, is_male FROM singer) "
        "SELECT count(*) FROM (WITH men AS (SELECT singer_id FROM s WHERE is_male = 'T') "
        "SELECT * FROM men JOIN singer_in_concert AS sic ON men.singer_id = sic.singer_id)",
        ["singer", "singer_in_concert"],
    ),
    # a nested WITH re-binding an outer CTE's name: the inner name hides the outer one only inside
    "nested_with_rebinding": (
        "new_pets_1",
        "WITH t AS (SELECT stuid FROM student) SELECT count(*) FROM t "
        "WHERE stuid IN (WITH t AS (SELECT stuid FROM has_pet) SELECT stuid FROM t)",
        ["Student", "Has_Pet"],
    ),
    # one CTE reading another of the same WITH (SQLite allows any order)
    "cte_reads_sibling": (
        "new_orchestra",
        "WITH a AS (SELECT * FROM b), b AS (SELECT conductor_id FROM orchestra) SELECT count(*) FROM a",
        ["orchestra"],
    ),
    # a recursive CTE is not a table; the real table it joins is
    "recursive_cte": (
        "new_orchestra",
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3) "
        "SELECT count(*) FROM n JOIN conductor ON conductor.conductor_id = n.i",
        ["conductor"],
    ),
}


@pytest.fixture(scope="module")
def schemas(spider_dir: Path, dk_dir: Path) -> dict:
    merged = dict(load_tables_json(spider_dir / "tables.json"))
    merged.update(load_tables_json(dk_dir / "tables.json"))
    return merged


@pytest.fixture(scope="module")
def db_files(spider_dir: Path, dk_dir: Path) -> dict[str, Path]:
    files = {"department_store": spider_dir / "database" / "department_store" / "department_store.sqlite"}
    for db_id in ("new_concert_singer", "new_orchestra", "new_pets_1"):
        files[db_id] = dk_dir / "database" / db_id / f"{db_id}.sqlite"
    return files


def _run(path: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


@pytest.mark.parametrize("case", sorted(CASES))
def test_cte_scoping_on_real_databases(case: str, schemas, db_files):
    db_id, sql, expected = CASES[case]
    _run(db_files[db_id], sql)  # valid SQLite on the real database
    assert gold_tables(sql, schemas[db_id]) == expected


def test_cte_shadowing_hides_the_real_table_only_in_scope(schemas, db_files):
    """The shadowing CTE's result differs from the real table's, proving which one SQLite reads."""
    db_id, sql, _ = CASES["cte_shadows_table"]
    real = _run(db_files[db_id], "SELECT count(*) FROM Customers")
    shadowed = _run(db_files[db_id], sql)
    assert real != shadowed  # the main query counted the CTE, not Customers
    assert "Customers" not in gold_tables(sql, schemas[db_id])


def test_self_named_cte_body_reads_the_real_table(schemas, db_files):
    """The issue's example: the body's own name is the real table (standard SQL); SQLite itself
    calls it a circular reference, so it is checked on the schema only."""
    sql = "WITH singer AS (SELECT * FROM singer WHERE is_male = 'T') SELECT count(*) FROM singer"
    assert gold_tables(sql, schemas["new_concert_singer"]) == ["singer"]
    with pytest.raises(sqlite3.OperationalError, match="circular reference"):
        _run(db_files["new_concert_singer"], sql)


def test_a_query_reading_only_ctes_still_reads_no_table(schemas):
    with pytest.raises(GoldTableError, match="reads no table"):
        gold_tables("WITH x AS (SELECT 1) SELECT * FROM x", schemas["department_store"])


def test_linking_metrics_use_the_scoped_gold_tables(spider_dir: Path, dk_dir: Path, tmp_path: Path):
    """evaluate() derives gold tables for linking with the same scoping: predicting them is an exact set."""
    root = tmp_path / "database"
    for src in (spider_dir / "database" / "department_store", *(dk_dir / "database" / d for d in ("new_concert_singer", "new_orchestra", "new_pets_1"))):
        (root / src.name).mkdir(parents=True)
        (root / src.name / f"{src.name}.sqlite").write_bytes((src / f"{src.name}.sqlite").read_bytes())
    items = [EvalItem(db_id, sql, sql, predicted_tables=tuple(expected)) for db_id, sql, expected in CASES.values()]
    result = evaluate(items, root, EvalArguments(workers=1), progress=False)
    assert all(e.match for e in result.examples), [e.reason for e in result.examples if not e.match]
    assert result.linking is not None and result.linking.count == len(CASES)
    assert result.linking.exact_set_accuracy == 1.0
