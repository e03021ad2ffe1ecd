"""Tables wider than a slice are split into column parts (issue 18, item 4).

A 300-column SQLite table and a question reading 4 of its columns: every schema-link slice fits
the budget, the part holding those columns is the gold one, and the SQL prompt holds only the
linked parts' columns plus the keys.  At inference, answering the table's name on a part links
that part, and stage 2 sees the table through it.
"""

from __future__ import annotations

import json
import re
import sqlite3

import pytest
from click.testing import CliRunner

from lrsql_plugin.cli.convert import main as convert_main
from lrsql_plugin.context.units import WideTableError, build_link_view, key_columns, narrow_table
from lrsql_plugin.inference import InferenceQuestion, TwoStagePipeline
from lrsql_plugin.inference.engines.base import SCHEMA_LINK
from lrsql_plugin.inference.pipeline import PipelineSettings
from lrsql_plugin.prompts import PromptRenderer
from lrsql_plugin.schema.model import Column, Database, ForeignKey, Table
from lrsql_plugin.slicing import slice_database
from lrsql_plugin.sources.sqlite_folder import introspect_sqlite
from lrsql_plugin.tokens import approx_token_count, load_token_counter
from tests.fixtures.prompt_rows import schema_part

BUDGET = 300
READ = ["c010", "c011", "c250", "c251"]  # the 4 columns the question reads
SQL = "SELECT m.c010, m.c011 FROM measurements AS m JOIN stations AS s ON m.station_id = s.id WHERE m.c250 > 1 AND c251 < 9"


@pytest.fixture
def wide_db(tmp_path):
    cols = ", ".join(f"c{i:03d} REAL" for i in range(298))
    path = tmp_path / "dbs" / "weather.sqlite"
    path.parent.mkdir()
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE stations (id INTEGER PRIMARY KEY, name TEXT)")
    con.execute(f"CREATE TABLE measurements (id INTEGER PRIMARY KEY, station_id INTEGER REFERENCES stations(id), {cols})")
    con.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    con.commit()
    con.close()
    return path


def convert(tmp_path, wide_db, *extra):
    q = tmp_path / "q.jsonl"
    q.write_text(json.dumps({"db_id": "weather", "question": "Which c010 and c011 values have c250 over 1?", "sql": SQL}) + "\n")
    out = tmp_path / "out"
    res = CliRunner().invoke(convert_main, [
        "sqlite", "--db-dir", str(wide_db.parent), "--questions", str(q), "--out", str(out),
        "--tables-per-slice", "0", "--tokens-per-slice", str(BUDGET), "--quiet", *extra,
    ])
    return res, out


def test_the_table_has_300_columns(wide_db):
    assert len(introspect_sqlite(wide_db).table("measurements").columns) == 300


def test_no_slice_exceeds_the_budget_and_the_gold_part_is_marked(tmp_path, wide_db):
    res, out = convert(tmp_path, wide_db)
    assert res.exit_code == 0, res.output
    link = json.loads((out / "schema_link.json").read_text())
    assert link, "schema-link samples written"
    assert max(approx_token_count(schema_part(s)) for s in link) <= BUDGET
    parts = [s for s in link if "of table measurements" in schema_part(s)]
    assert len({schema_part(s) for s in parts}) >= 3  # 300 columns do not fit in one slice of 300 tokens
    for s in parts:  # every part repeats the name and the keys and says which part it is
        assert 'CREATE TABLE measurements (' in schema_part(s)
        assert "id integer PRIMARY KEY" in schema_part(s) and "station_id integer REFERENCES stations(id)" in schema_part(s)
        assert re.search(r"-- part \d+ of \d+ of table measurements", schema_part(s))
    gold = {schema_part(s) for s in parts if s["output"] == "measurements"}
    holding = {schema_part(s) for s in parts if any(re.search(rf"\b{c}\b", schema_part(s)) for c in READ)}
    assert gold == holding and len(gold) == 2  # c010/c011 sit in the first part, c250/c251 in a later one
    stats = json.loads((out / "stats.json").read_text())
    layout = stats["layout"]
    assert layout["tokens_per_slice"] == BUDGET and layout["largest_slice_tokens"] <= BUDGET
    assert [t["table"] for t in layout["split_tables"]] == ["measurements"]
    assert "split into column parts" in (out / "report.md").read_text()


def test_the_sql_prompt_holds_the_gold_parts_and_keys_only(tmp_path, wide_db):
    res, out = convert(tmp_path, wide_db)
    assert res.exit_code == 0, res.output
    (sample,) = json.loads((out / "sql_generation.json").read_text())
    ddl = sample["input"]
    table = introspect_sqlite(wide_db).table("measurements")
    shown = re.findall(r"^  (c\d{3}) real", ddl, re.M)
    assert set(READ) <= set(shown) and len(shown) < 200  # the gold parts' columns only
    assert "CREATE TABLE stations" in ddl
    full = approx_token_count(PromptRenderer().schema([table]))
    assert approx_token_count(ddl) < 0.7 * full  # two of the table's parts, not all of it
    # exactly the narrowed table (keys + the gold parts' columns) and the other gold table
    narrowed = narrow_table(table, shown)
    stations = introspect_sqlite(wide_db).table("stations")
    assert ddl == PromptRenderer().for_database().schema([stations, narrowed], description_tokens=None) or \
        ddl == PromptRenderer().for_database().schema([narrowed, stations], description_tokens=None)


def test_keys_wider_than_the_budget_exit_2_naming_the_table(tmp_path, wide_db):
    con = sqlite3.connect(wide_db)
    keys = ", ".join(f"k{i:03d}_identifier_of_something INTEGER" for i in range(150))
    pk = ", ".join(f"k{i:03d}_identifier_of_something" for i in range(150))
    con.execute(f"CREATE TABLE keyed ({keys}, v TEXT, PRIMARY KEY ({pk}))")
    con.commit()
    con.close()
    res, out = convert(tmp_path, wide_db)
    assert res.exit_code == 2
    assert "'keyed'" in res.output and "slice budget of 300" in res.output
    assert not out.exists() or not (out / "dataset_info.json").exists()


def test_split_with_a_real_tokenizer_respects_the_budget(tiny_model_dir, wide_db):
    counter = load_token_counter(str(tiny_model_dir))
    db = introspect_sqlite(wide_db)
    renderer = PromptRenderer().for_database()
    view = build_link_view(db, 400, lambda t: counter.text(renderer.schema([t])))
    parts = view.split["measurements"]
    assert len(parts) > 1 and all(counter.text(renderer.schema([p])) <= 400 for p in parts)
    covered = [c.name for p in parts for c in p.columns if c.name not in key_columns(p)]
    assert covered == [c.name for c in db.table("measurements").columns if c.name not in ("id", "station_id")]


class ColumnReader:
    """Links a slice's table when the question names one of the columns the slice shows."""

    def __init__(self):
        self.sql_prompts = []

    def generate(self, prompts, adapter, max_new_tokens):
        out = []
        for p in prompts:
            if adapter == SCHEMA_LINK:
                question = p.request.splitlines()[0]
                names = re.findall(r"CREATE TABLE (\w+)", p.schema)
                cols = set(re.findall(r"^  (\w+) ", p.schema, re.M)) - {"id", "station_id"}
                hit = any(re.search(rf"\b{c}\b", question) for c in cols)
                out.append(names[0] if hit else "None")
            else:
                self.sql_prompts.append(p)
                out.append("SELECT 1")
        return out

    def close(self):
        pass


def test_inference_links_a_part_and_shows_the_table_through_it():
    wide = Table("m", [Column("id", "int"), Column("sid", "int"), *[Column(f"c{i:03d}", "real") for i in range(200)]],
                 ["id"], [ForeignKey("sid", "s", "id")])
    db = Database("w", [Table("s", [Column("id", "int"), Column("name", "text")], ["id"]), wide])
    renderer = PromptRenderer().for_database()
    view = build_link_view(db, 300, lambda t: approx_token_count(renderer.schema([t])))
    slicing = slice_database(view.units, None, 300, lambda n: approx_token_count(renderer.schema([view.units.table(n)])),
                             components=view.expand([["s", "m"]]))
    engine = ColumnReader()
    pipe = TwoStagePipeline(engine, {"w": db}, lambda _: renderer, lambda _: slicing, PipelineSettings(),
                            view_for=lambda _: view)
    (p,) = pipe.run_batch([InferenceQuestion(0, "w", "the average of c120")])
    assert p.linked_tables == ["m"] and not p.fallback
    ddl = engine.sql_prompts[0].input
    assert "c120 real" in ddl and "sid int REFERENCES s(id)" in ddl and "c000 real" not in ddl
    part = next(u for u in view.split["m"] if any(c.name == "c120" for c in u.columns))
    assert ddl == renderer.schema([narrow_table(wide, [c.name for c in part.columns])], description_tokens=None)


def test_keys_alone_over_budget_is_an_error():
    t = Table("k", [Column(f"key_{i}", "int") for i in range(50)] + [Column("v")], [f"key_{i}" for i in range(50)])
    with pytest.raises(WideTableError, match="'k'"):
        build_link_view(Database("d", [t]), 60, lambda x: approx_token_count(PromptRenderer().schema([x])))
