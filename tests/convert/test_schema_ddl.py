"""Schema serialization (SPEC §3.3): the DDL shown to the models is valid SQLite."""

from __future__ import annotations

import sqlite3
from dataclasses import replace

from lrsql_plugin.prompts import PromptRenderer
from lrsql_plugin.prompts.identifiers import quote_identifier
from lrsql_plugin.sources.spider_tables import load_tables_json
from lrsql_plugin.sources.sqlite_folder import introspect_sqlite
from tests.convert.conftest import DEMO


def executes(ddl: str) -> list[str]:
    conn = sqlite3.connect(":memory:")
    conn.executescript(ddl)
    return [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY rowid")]


def test_ddl_of_every_spider_schema_executes(spider_dir):
    renderer = PromptRenderer()
    for db in load_tables_json(spider_dir / "tables.json").values():
        assert executes(renderer.schema(db.tables)) == db.table_names, db.db_id


def test_names_that_need_quoting_are_quoted():
    assert quote_identifier("singer") == "singer"
    assert quote_identifier("order") == '"order"'
    assert quote_identifier("Group") == '"Group"'
    assert quote_identifier("order items") == '"order items"'
    assert quote_identifier('say "hi"') == '"say ""hi"""'


def test_demo_ddl_with_quoted_names_round_trips_through_sqlite():
    db = introspect_sqlite(DEMO / "database/board_game_cafe/board_game_cafe.sqlite")
    ddl = PromptRenderer().schema(db.tables)
    assert '"order items"' in ddl and '"group"' in ddl
    conn = sqlite3.connect(":memory:")
    conn.executescript(ddl)
    cols = [r[1] for r in conn.execute("PRAGMA table_info(games)")]
    assert "group" in cols
    fks = {(r[2], r[3], r[4]) for r in conn.execute('PRAGMA foreign_key_list("order items")')}
    assert fks == {(fk.ref_table, fk.column, fk.ref_column) for fk in db.table("order items").foreign_keys}


def test_composite_primary_key_is_a_table_constraint():
    db = introspect_sqlite(DEMO / "database/lakeside_hospital/lakeside_hospital.sqlite")
    ddl = PromptRenderer().schema([db.table("admission_procedures")])
    assert "PRIMARY KEY (admission_id, procedure_code)" in ddl
    assert executes(ddl) == ["admission_procedures"]  # SQLite checks FK targets only when enforcing


def test_sample_values_and_descriptions_are_sql_comments():
    db = introspect_sqlite(DEMO / "database/board_game_cafe/board_game_cafe.sqlite")
    t = db.tables[0]
    col = t.columns[1].name
    t.columns[1] = replace(t.columns[1], description="what it\n  means")
    r = PromptRenderer().for_database({t.name: {col: ["it's", 3]}})
    ddl = r.schema([t])
    assert "-- what it means e.g. 'it''s', 3" in ddl  # the description on one line, then the values
    assert executes(ddl) == [t.name]


def test_descriptions_are_cut_in_slices_and_whole_in_sql_prompts():
    db = introspect_sqlite(DEMO / "database/board_game_cafe/board_game_cafe.sqlite")
    t = db.tables[0]
    long_text = " ".join(f"word{i}" for i in range(100))
    t.columns[1] = replace(t.columns[1], description=long_text)
    r = PromptRenderer().for_database(description_tokens=10)
    link_ddl = r.schema([t])
    assert "word9 ..." in link_ddl and "word10" not in link_ddl
    assert long_text in r.sql_generation("q?", [t]).input
    assert "word99" not in PromptRenderer().for_database(show_descriptions=False).schema([t])


def test_user_template_replaces_the_shipped_one(tmp_path):
    (tmp_path / "sql_generation.j2").write_text("Q: {{ question }} ({{ evidence or 'no evidence' }})")
    db = introspect_sqlite(DEMO / "database/orchard_coop/orchard_coop.sqlite")
    p = PromptRenderer(tmp_path).sql_generation("How many farms?", db.tables[:1])
    assert p.instruction == "Q: How many farms? (no evidence)"
    assert p.input.startswith("CREATE TABLE")  # the schema template is still the shipped one
