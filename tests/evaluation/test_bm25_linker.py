"""The BM25 baseline linker: ``rank_tables`` / ``TableRanker`` and ``lrsql-eval --link-only --linker bm25``.

Specification:

- a table's document is its name and column names split into words (``_ . -``, case changes, digits),
  its shown name and its descriptions; the query is the question plus evidence;
- every table is returned exactly once, best first, with equal scores in schema order: the ranking is
  deterministic, and a ``TableRanker`` built once ranks like ``rank_tables`` each time;
- ranking and linking work on the family-folded database (``ga_sessions_*``), gold tables included;
- the CLI links each question's top K tables without loading any model, writes predictions.jsonl
  (``"linker": "bm25"``, the ranking), and adds recall@5/10/20 to metrics.json and report.md, with a
  breakdown by engine for Spider 2.0 and a ``linking.png`` chart.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import lrsql_plugin.cli.evaluate as evaluate_cli
from lrsql_plugin.cli.evaluate import main
from lrsql_plugin.context.families import fold_families
from lrsql_plugin.context.ranking import TableRanker, rank_tables, words
from lrsql_plugin.evaluation.linking import recall_at_k
from lrsql_plugin.schema.model import Column, Database, Example, Table
from lrsql_plugin.sources.base import SourceData


def cols(*names: str) -> list[Column]:
    return [Column(n, "text") for n in names]


CONCERTS = [
    Table("stadium", cols("Stadium_ID", "Location", "Name", "Capacity", "Highest", "Lowest", "Average")),
    Table("singer", cols("Singer_ID", "Name", "Country", "Song_Name", "Song_release_year", "Age", "Is_male")),
    Table("concert", cols("concert_ID", "concert_Name", "Theme", "Stadium_ID", "Year")),
    Table("singer_in_concert", cols("concert_ID", "Singer_ID")),
]


def names(ranking: list[tuple[str, float]]) -> list[str]:
    return [n for n, _ in ranking]


# --- ranking ---------------------------------------------------------------------------------------


def test_identifiers_split_into_words_at_separators_case_changes_and_digits():
    assert words("customerOrders_2014") == ["customer", "order", "2014"]
    assert words("bigquery-public-data.cms_medicare.inpatient_charges_2014") == [
        "bigquery", "public", "data", "cms", "medicare", "inpatient", "charge", "2014"]
    assert words("HTTPRequestLog") == ["http", "request", "log"]
    assert words("How many of the singers are from France?") == ["singer", "france"]  # stop words dropped


def test_the_table_matching_the_question_ranks_first():
    assert names(rank_tables("How many singers do we have?", "", CONCERTS))[0] == "singer"
    assert names(rank_tables("What is the maximum capacity and the average of all stadiums?", "", CONCERTS))[0] == "stadium"
    assert names(rank_tables("List the theme of each concert held in 2014", "", CONCERTS))[0] == "concert"


def test_column_names_and_descriptions_count_and_evidence_joins_the_question():
    tables = [
        Table("t1", cols("a", "b")),
        Table("t2", [Column("x", "int", description="the payroll amount of an employee")]),
        Table("t3", cols("headcount", "department")),
    ]
    assert names(rank_tables("What is the total payroll?", "", tables))[0] == "t2"
    assert names(rank_tables("Which one is largest?", "largest means the greatest headcount", tables))[0] == "t3"


def test_every_table_once_best_first_and_ties_in_schema_order():
    ranking = rank_tables("singer concert", "", CONCERTS)
    assert sorted(names(ranking)) == sorted(t.name for t in CONCERTS)
    scores = [s for _, s in ranking]
    assert scores == sorted(scores, reverse=True)
    # no word of the question is in the schema: all scores 0, the schema's order
    nothing = rank_tables("zebra quokka", "", CONCERTS)
    assert nothing == [(t.name, 0.0) for t in CONCERTS]
    assert rank_tables("", "", CONCERTS) == nothing
    assert rank_tables("anything", "", []) == []
    assert rank_tables("a", "", [Table("_", [])]) == [("_", 0.0)]  # a table without words


def test_ranking_is_deterministic_and_a_ranker_is_built_once_per_database():
    question = "Show the names of singers in concerts of 2014 and their stadium"
    first = rank_tables(question, "", CONCERTS)
    assert all(rank_tables(question, "", CONCERTS) == first for _ in range(3))
    assert rank_tables(question, "", list(reversed(CONCERTS))) != [] and sorted(first) == sorted(
        rank_tables(question, "", list(reversed(CONCERTS))))
    ranker = TableRanker(CONCERTS)
    for q in (question, "How many singers?", "stadium capacity"):
        assert ranker.rank(q) == rank_tables(q, "", CONCERTS)


SESSION_COLUMNS = cols("visitId", "visitStartTime", "totals", "trafficSource", "device", "geoNetwork")


def analytics_db() -> Database:
    days = [Table(f"ga_sessions_2017080{d}", list(SESSION_COLUMNS)) for d in range(1, 4)]
    return Database("ga360", [Table("products", cols("product_id", "product_name", "price")), *days,
                              Table("refunds", cols("order_id", "amount"))])


def test_families_are_ranked_as_one_entry():
    fold = fold_families(analytics_db())
    ranking = rank_tables("Which traffic source brought the most visits on device mobile?", "", fold.database.tables)
    assert names(ranking) == ["ga_sessions_*", "products", "refunds"]
    assert fold.fold_names(["ga_sessions_20170802", "ga_sessions_20170803", "products"]) == ["ga_sessions_*", "products"]


def test_recall_at_k_is_the_share_of_gold_tables_among_the_first_k():
    ranking = ["a", "B", "c", "d"]
    assert recall_at_k(ranking, ["b", "d"], 2) == 0.5
    assert recall_at_k(ranking, ["b", "d"], 4) == 1.0
    assert recall_at_k(ranking, ["zz"], 4) == 0.0
    assert recall_at_k(ranking, [], 1) == 1.0


# --- the CLI ---------------------------------------------------------------------------------------


def run(*args: object) -> object:
    return CliRunner().invoke(main, [*(str(a) for a in args), "--no-progress"], catch_exceptions=False)


def spider_tables_record(db_id: str, tables: list[Table]) -> dict:
    """A Spider ``tables.json`` record for ``tables`` (column 0 is ``*``)."""
    columns = [[-1, "*"]] + [[i, c.name] for i, t in enumerate(tables) for c in t.columns]
    return {
        "db_id": db_id,
        "table_names_original": [t.name for t in tables], "table_names": [t.name for t in tables],
        "column_names_original": columns, "column_names": columns,
        "column_types": ["text"] * len(columns), "primary_keys": [], "foreign_keys": [],
    }


@pytest.fixture
def concert_dir(tmp_path: Path) -> Path:
    """A Spider-layout folder (tables.json, dev.json; no database files) with four questions."""
    root = tmp_path / "spider"
    root.mkdir()
    (root / "tables.json").write_text(json.dumps([spider_tables_record("concert_singer", CONCERTS)]))
    questions = [
        ("How many singers do we have?", "SELECT count(*) FROM singer"),
        ("What is the average capacity of the stadiums?", "SELECT avg(capacity) FROM stadium"),
        ("Show the name of each stadium and the number of concerts in it.",
         "SELECT T2.name, count(*) FROM concert AS T1 JOIN stadium AS T2 ON T1.stadium_id = T2.stadium_id GROUP BY T1.stadium_id"),
        ("List singer names and the concert names they sang in.",
         "SELECT T3.name, T2.concert_name FROM singer_in_concert AS T1 JOIN concert AS T2 ON T1.concert_id = T2.concert_id "
         "JOIN singer AS T3 ON T1.singer_id = T3.singer_id"),
    ]
    dev = [{"db_id": "concert_singer", "question": q, "query": sql} for q, sql in questions]
    (root / "dev.json").write_text(json.dumps(dev))
    return root


def test_bm25_link_only_on_a_spider_folder_needs_no_model_and_reports_recall_at_k(concert_dir: Path, tmp_path: Path):
    out = tmp_path / "out"
    result = run("--link-only", "--linker", "bm25", "--top-k", 2, "--spider-dir", concert_dir, "--out", out)
    assert result.exit_code == 0, result.output
    preds = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert [p["index"] for p in preds] == [0, 1, 2, 3]
    assert all(p["linker"] == "bm25" and len(p["linked_tables"]) == 2 for p in preds)
    assert all([n for n, _ in p["ranking"]][:2] == p["linked_tables"] and len(p["ranking"]) == 4 for p in preds)
    assert preds[0]["linked_tables"][0] == "singer" and preds[1]["linked_tables"][0] == "stadium"

    linking = json.loads((out / "metrics.json").read_text())["linking"]
    assert linking["scored"] == 4
    assert set(linking["recall_at_k"]) == {"5", "10", "20"}
    assert linking["recall_at_k"]["5"] == 1.0  # four tables: all are in the top 5
    assert "by_engine" not in linking  # one engine only
    report = (out / "report.md").read_text()
    assert "- linker: BM25 top 2 (lexical baseline, no model)" in report
    assert "| recall@5 (gold tables among the ranking's first 5) | 100.00% |" in report
    assert "![linking](linking.png)" in report
    assert (out / "linking.png").read_bytes().startswith(b"\x89PNG")
    per_example = [json.loads(line) for line in (out / "per_example.jsonl").read_text().splitlines()]
    assert per_example[0]["gold_tables"] == ["singer"] and per_example[0]["gold_ranks"] == [1]


def test_bm25_linker_and_spider2_need_link_only(concert_dir: Path, tmp_path: Path):
    result = run("--linker", "bm25", "--spider-dir", concert_dir, "--out", tmp_path / "a", "--base", "x")
    assert result.exit_code == 2 and "--linker bm25" in result.output and "--link-only" in result.output
    result = run("--spider2-dir", tmp_path, "--out", tmp_path / "b")  # no model, no --link-only: nothing to run
    assert result.exit_code == 2 and "--spider2-dir name the questions of inference" in result.output


def tiny_spider2() -> SourceData:
    """A hand-made Spider 2.0-like source: gold tables without SQL, three engines, a table family."""
    bq = analytics_db()
    sf = Database("SHOP", [Table("SHOP.PUBLIC.ORDERS", cols("ORDER_ID", "CUSTOMER_ID", "ORDER_DATE")),
                           Table("SHOP.PUBLIC.CUSTOMERS", cols("CUSTOMER_ID", "CITY"))])
    lite = Database("chinook", [Table("tracks", cols("TrackId", "Name", "Composer")),
                                Table("invoices", cols("InvoiceId", "Total", "BillingCountry"))])
    examples = [
        Example("ga360", "Which traffic source brought the most visits in August 2017?", "", index=0,
                gold_tables=("ga_sessions_20170801", "ga_sessions_20170802"), dialect="bigquery"),
        Example("ga360", "What is the price of each product?", "", index=1, gold_tables=("products",), dialect="bigquery"),
        Example("SHOP", "How many orders did customers from Paris place?", "", index=2,
                gold_tables=("shop.public.orders", "SHOP.PUBLIC.CUSTOMERS"), dialect="snowflake"),
        Example("chinook", "Total invoice amount per billing country", "", index=3,
                gold_tables=("invoices", "not_in_schema"), dialect="sqlite"),
    ]
    return SourceData("spider2", {d.db_id: d for d in (bq, sf, lite)}, examples, executable=False)


def test_spider2_questions_are_scored_on_their_gold_tables_by_engine(monkeypatch, tmp_path: Path):
    monkeypatch.setattr(evaluate_cli, "load_spider2_source", lambda _dir, _questions: tiny_spider2())
    out = tmp_path / "out"
    result = run("--link-only", "--linker", "bm25", "--top-k", 1, "--spider2-dir", tmp_path, "--out", out)
    assert result.exit_code == 0, result.output
    preds = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert preds[0]["linked_tables"] == ["ga_sessions_*"]  # the family, folded
    per_example = [json.loads(line) for line in (out / "per_example.jsonl").read_text().splitlines()]
    assert per_example[0]["gold_tables"] == ["ga_sessions_*"] and per_example[0]["exact_set"] is True
    assert [e["engine"] for e in per_example] == ["bigquery", "bigquery", "snowflake", "sqlite"]

    linking = json.loads((out / "metrics.json").read_text())["linking"]
    by_engine = linking["by_engine"]
    assert list(by_engine) == ["bigquery", "snowflake", "sqlite"]
    assert by_engine["bigquery"]["scored"] == 2 and by_engine["bigquery"]["exact_set_accuracy"] == 1.0
    assert by_engine["snowflake"]["recall_at_k"]["5"] == 1.0  # gold names match case-insensitively
    assert by_engine["sqlite"]["recall_at_k"] == {"5": 0.5, "10": 0.5, "20": 0.5}  # an unknown gold table is missed
    report = (out / "report.md").read_text()
    assert "EX is not computed" in report
    assert "gold tables not in the schema: 1 mention(s) in 1 question(s)" in report
    assert "## By engine" in report and "| snowflake | 1 of 1 |" in report
    assert (out / "linking.png").read_bytes().startswith(b"\x89PNG")


# --- the shared Spider 2.0-lite part ---------------------------------------------------------------


@pytest.fixture(scope="module")
def spider2_lite(shared_data: Path) -> Path:
    root = shared_data / "spider2-lite"
    if not root.is_dir():
        pytest.skip(f"{root} is absent")
    if importlib.util.find_spec("lrsql_plugin.sources.spider2") is None:
        pytest.skip("lrsql_plugin.sources.spider2 is not there yet")
    return root


def test_shared_spider2_lite_reports_recall_at_k_by_engine(spider2_lite: Path, tmp_path: Path):
    out = tmp_path / "out"
    result = run("--link-only", "--linker", "bm25", "--top-k", 10, "--spider2-dir", spider2_lite, "--out", out)
    assert result.exit_code == 0, result.output
    linking = json.loads((out / "metrics.json").read_text())["linking"]
    assert linking["scored"] >= 300
    assert set(linking["by_engine"]) == {"bigquery", "snowflake", "sqlite"}
    for engine in linking["by_engine"].values():
        r = engine["recall_at_k"]
        assert set(r) == {"5", "10", "20"} and 0.0 < r["5"] <= r["10"] <= r["20"] <= 1.0
    report = (out / "report.md").read_text()
    assert "## By engine" in report and "recall@20" in report
    assert (out / "linking.png").read_bytes().startswith(b"\x89PNG")
