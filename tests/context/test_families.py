"""Table families: daily or numbered tables with the same columns fold into one entry (issue 18, item 5)."""

from __future__ import annotations

import json
import sqlite3

from click.testing import CliRunner

from lrsql_plugin.cli.convert import main as convert_main
from lrsql_plugin.context.families import fold_families
from lrsql_plugin.schema.model import Column, Database, Table
from tests.fixtures.prompt_rows import schema_part


def daily(name: str, extra: int = 0) -> Table:
    cols = [Column("visit_id", "int"), Column("page", "text"), Column("ts", "int"), Column("device", "text"),
            *[Column(f"f{i}", "int") for i in range(16)], *[Column(f"new{i}", "int") for i in range(extra)]]
    return Table(name, cols)


def test_members_fold_into_one_entry_named_by_the_pattern():
    db = Database("ga", [daily(f"events_2020010{d}") for d in range(1, 8)] + [Table("users", [Column("id")])])
    fold = fold_families(db)
    assert fold.database.table_names == ["events_*", "users"]
    (family,) = fold.families
    assert family.members == tuple(f"events_2020010{d}" for d in range(1, 8))
    assert fold.fold_names(["events_20200103", "users", "events_20200105"]) == ["events_*", "users"]
    assert fold.members("events_*") == list(family.members) and fold.members("users") == ["users"]


def test_a_member_that_gained_a_column_still_joins_and_the_entry_shows_the_union():
    db = Database("ga", [daily("s_20170629"), daily("s_20170630"), daily("s_20170701", extra=1)])
    (family,) = fold_families(db).families
    assert len(family.members) == 3 and "new0" in [c.name for c in family.columns]


def test_different_columns_or_no_suffix_are_not_a_family():
    db = Database("d", [Table("t_1", [Column("a")]), Table("t_2", [Column("b")]), Table("alpha", [Column("a")]),
                        Table("beta", [Column("a")])])
    assert fold_families(db).families == []
    assert fold_families(Database("one", [daily("events_1")])).families == []


def test_disabled_folding_keeps_the_schema():
    db = Database("ga", [daily(f"e_{d}") for d in range(3)])
    assert fold_families(db, enabled=False).database is db


def test_conversion_renders_a_family_once_and_reports_the_fold(tmp_path):
    path = tmp_path / "dbs" / "logs.sqlite"
    path.parent.mkdir()
    con = sqlite3.connect(path)
    for d in range(1, 31):
        con.execute(f"CREATE TABLE hits_202401{d:02d} (visit_id INTEGER, page TEXT, ms INTEGER)")
    con.execute("CREATE TABLE pages (page TEXT PRIMARY KEY, title TEXT)")
    con.commit()
    con.close()
    q = tmp_path / "q.jsonl"
    q.write_text(json.dumps({"db_id": "logs", "question": "Slowest page on Jan 5?",
                             "sql": "SELECT page FROM hits_20240105 ORDER BY ms DESC LIMIT 1"}) + "\n")

    def run(out, *extra):
        return CliRunner().invoke(convert_main, ["sqlite", "--db-dir", str(path.parent), "--questions", str(q),
                                                 "--out", str(out), "--tables-per-slice", "2", "--quiet", *extra])

    res = run(tmp_path / "folded")
    assert res.exit_code == 0, res.output
    link = json.loads((tmp_path / "folded" / "schema_link.json").read_text())
    assert len(link) == 1  # one slice: the family entry and pages
    assert link[0]["output"] == '"hits_*"' or link[0]["output"] == "hits_*"
    assert "-- 30 tables with these columns: hits_20240101 ... hits_20240130" in schema_part(link[0])
    assert schema_part(link[0]).count("CREATE TABLE") == 2
    question = json.loads((tmp_path / "folded" / "questions.jsonl").read_text())
    assert question["gold_tables"] == ["hits_20240105"] and question["link_gold_folded"] == ["hits_*"]
    stats = json.loads((tmp_path / "folded" / "stats.json").read_text())
    assert stats["layout"]["families"] == [{"schema": "logs", "family": "hits_*", "members": 30,
                                            "first": "hits_20240101", "last": "hits_20240130"}]
    assert "table families folded: 1 (30 tables)" in res.output
    res = run(tmp_path / "apart", "--no-fold-families")
    assert res.exit_code == 0, res.output
    link = json.loads((tmp_path / "apart" / "schema_link.json").read_text())
    assert len({schema_part(s) for s in link}) == 16  # 31 tables, 2 per slice
