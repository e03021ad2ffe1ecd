"""What a model is taught to answer and how its answers are read back.

1. Schema-link answers.  The training target names the needed tables separated by ", ", or is the
   bare none-marker ``None``.  A name is double-quoted (``""`` for a quote inside) when writing it
   plainly would be ambiguous: it holds ``,`` ``;`` a line break or ``"``, the lenient reading would
   change it, or it equals the marker in any case (``none``).  The reader splits at separators
   outside quotes, so every written answer is read back exactly, and stays lenient with unquoted
   model output (bullets, backticks, brackets, trailing periods).
2. SQL extraction.  The first statement of an answer is cut at the first ``;`` *token* (sqlglot's
   tokenizer, with positions), comments dropped and whitespace squeezed between tokens only:
   string literals and quoted names are kept exactly, so what runs is what the model wrote.  The
   official prediction file has one query per line; a literal holding a line break is written there as
   a ``char(10)`` concatenation that SQLite evaluates to the same text.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from lrsql_plugin.cli.convert import main as convert_main
from lrsql_plugin.inference.run import write_pred_sql
from lrsql_plugin.inference.sql_extract import first_sql_statement, single_line_sql, squeeze_whitespace
from lrsql_plugin.prompts.render import (
    NONE_MARKER,
    answer_name,
    format_table_answer,
    parse_table_answer,
    parse_unit_answer,
)
from lrsql_plugin.schema.model import Column, Table

ODD_NAMES = ["a,b", "x;y", "line\nbreak", "cr\r\nlf", 'say "hi"', "none", "my table", " padded ", "events_*",
             "(x)", "it's", '"', "Ünïcode", "a.b", "tab\tinside"]
DECOYS = ["a", "b", "x", "y", "line", "break", "cr", "lf", "say", "hi", "my", "table", "padded", "events_", "x", "it",
          "singer"]


class TestSchemaLinkAnswers:
    def test_plain_names_are_written_as_before(self):
        assert format_table_answer(["singer", "concert"]) == "singer, concert"
        assert format_table_answer(["my table", "Orders_2024", "it's", "a.b"]) == "my table, Orders_2024, it's, a.b"
        assert format_table_answer([]) == NONE_MARKER == "None"

    @pytest.mark.parametrize("name", ODD_NAMES, ids=repr)
    def test_every_name_round_trips_and_links_no_neighbour(self, name: str):
        slice_tables = [name, *[d for d in DECOYS if d.lower() != name.lower()]]
        answer = format_table_answer([name, "singer"])
        assert parse_table_answer(answer, slice_tables) == [name, "singer"]

    def test_all_odd_names_in_one_answer(self):
        answer = format_table_answer(ODD_NAMES)
        assert parse_table_answer(answer, ODD_NAMES + DECOYS) == ODD_NAMES

    def test_names_that_need_it_are_quoted_with_doubled_quotes(self):
        assert answer_name("a,b") == '"a,b"'
        assert answer_name("x;y") == '"x;y"'
        assert answer_name("line\nbreak") == '"line\nbreak"'
        assert answer_name('say "hi"') == '"say ""hi"""'
        assert answer_name("events_*") == '"events_*"'  # the lenient reading would strip the *
        assert answer_name(" padded ") == '" padded "'

    @pytest.mark.parametrize("name", ["none", "None", "NONE", "nOnE"])
    def test_a_table_named_like_the_marker_is_always_quoted(self, name: str):
        assert answer_name(name) == f'"{name}"'
        assert format_table_answer([name]) != NONE_MARKER
        assert parse_table_answer(format_table_answer([name]), [name, "singer"]) == [name]

    @pytest.mark.parametrize("answer", ["None", "none", "NONE", "None.", "`None`", "- None", "<think>maybe none</think>None"])
    def test_the_bare_marker_links_nothing_even_beside_a_table_named_none(self, answer: str):
        assert parse_table_answer(answer, ["none", "singer"]) == []

    @pytest.mark.parametrize(("answer", "tables"), [
        ('"none"', ["none"]),
        ('"None"', ["none"]),  # names match case-insensitively, as SQLite's do
        ('"none", singer', ["none", "singer"]),
        ("singer, None", ["singer"]),  # the marker beside a name adds nothing
    ])
    def test_a_quoted_none_is_the_table(self, answer: str, tables: list[str]):
        assert parse_table_answer(answer, ["none", "singer"]) == tables

    @pytest.mark.parametrize(("answer", "tables"), [
        ("- singer\n- `Concert`\n- orchestra", ["singer", "concert"]),
        ("[singer]; (concert).", ["singer", "concert"]),
        ("'singer'", ["singer"]),
        ('"singer".', ["singer"]),
        ('- "a,b"\n- singer', ["singer", "a,b"]),
        ('1. "a,b"\n2) "x;y" (the other one)', ["a,b", "x;y"]),
        ("events_*", ["events_*"]),  # unquoted, as adapters trained before quoting answer it
        ('"a,b', ["a", "b"]),  # a quote never closed: read as unquoted items
        ("a,b", ["a", "b"]),  # unquoted, the comma separates
        ("singer,,concert,", ["singer", "concert"]),
    ])
    def test_unquoted_model_output_is_read_as_leniently_as_before(self, answer: str, tables: list[str]):
        allowed = ["singer", "concert", "a,b", "x;y", "a", "b", "events_*"]
        assert parse_table_answer(answer, allowed) == [t for t in allowed if t in tables]

    def test_link_units_match_on_their_shown_name(self):
        parts = [Table(name=f"a,b [part {k}/2]", columns=[Column("id", "int")], label="a,b", origin="a,b", part=k, parts=2)
                 for k in (1, 2)]
        units = [*parts, Table(name="none", columns=[]), Table(name="a", columns=[])]
        assert parse_unit_answer(format_table_answer(["a,b"]), units) == ["a,b [part 1/2]", "a,b [part 2/2]"]
        assert parse_unit_answer(format_table_answer(["none"]), units) == ["none"]
        assert parse_unit_answer("None", units) == []

    def test_a_conversion_writes_answers_that_read_back(self, tmp_path: Path):
        db = tmp_path / "dbs" / "odd.sqlite"
        db.parent.mkdir()
        con = sqlite3.connect(db)
        for name in ("a,b", "none", "line\nbreak", "semi;colon", "plain"):
            con.execute(f'CREATE TABLE "{name}" (id INTEGER PRIMARY KEY, v TEXT)')
        con.commit()
        con.close()
        questions = [("SELECT v FROM \"a,b\"", ["a,b"]), ('SELECT n.v FROM "none" AS n JOIN "line\nbreak" AS l ON n.id = l.id',
                                                        ["none", "line\nbreak"]),
                     ('SELECT v FROM "semi;colon"', ["semi;colon"]), ("SELECT v FROM plain", ["plain"])]
        q = tmp_path / "q.jsonl"
        q.write_text("".join(json.dumps({"db_id": "odd", "question": f"q{i}", "sql": s}) + "\n"
                             for i, (s, _) in enumerate(questions)), encoding="utf-8")
        res = CliRunner().invoke(convert_main, ["sqlite", "--db-dir", str(db.parent), "--questions", str(q),
                                                "--out", str(tmp_path / "out"), "--tables-per-slice", "5", "--quiet"])
        assert res.exit_code == 0, res.output
        samples = json.loads((tmp_path / "out" / "schema_link.json").read_text(encoding="utf-8"))
        tables = ["a,b", "none", "line\nbreak", "semi;colon", "plain"]
        assert [s["output"] for s in samples] == ['"a,b"', '"none", "line\nbreak"', '"semi;colon"', "plain"]
        for sample, (_, gold) in zip(samples, questions):
            assert parse_table_answer(sample["output"], tables) == [t for t in tables if t in gold]


NEWLINE_DB_ROWS = [(1, "New  York"), (2, "two\nlines"), (3, "crlf\r\nend"), (4, "it's\nquoted"), (5, "\n"), (6, "sep\u2028x")]


@pytest.fixture
def con():
    c = sqlite3.connect(":memory:")
    c.execute("CREATE TABLE city (id INTEGER, name TEXT)")
    c.executemany("INSERT INTO city VALUES (?, ?)", NEWLINE_DB_ROWS)
    yield c
    c.close()


class TestSqlExtraction:
    def test_whitespace_inside_a_string_literal_is_kept(self):
        assert first_sql_statement("SELECT id FROM city WHERE name = 'New  York';") == "SELECT id FROM city WHERE name = 'New  York'"

    def test_whitespace_between_tokens_is_squeezed_and_comments_dropped(self):
        text = "```sql\nSELECT  id,\n   count(*)\nFROM city -- the table; really\nWHERE name = 'a  b' /* ; */ AND id > 1;\n```"
        assert first_sql_statement(text) == "SELECT id, count(*) FROM city WHERE name = 'a  b' AND id > 1"

    def test_quoted_names_are_kept_exactly(self):
        assert first_sql_statement('SELECT "first  name", [a  b], `c  d` FROM t') == 'SELECT "first  name", [a  b], `c  d` FROM t'

    @pytest.mark.parametrize(("answer", "sql"), [
        ("SELECT ';' FROM t; SELECT 2", "SELECT ';' FROM t"),
        ('SELECT "a;b" FROM t -- x; y\nWHERE 1', 'SELECT "a;b" FROM t WHERE 1'),
        ("SELECT 1 FROM t; Note: it's the count", "SELECT 1 FROM t"),  # prose after it does not tokenize
        ("SELECT 'it''s'; more", "SELECT 'it''s'"),
        ("<think>SELECT wrong;</think>SELECT 1;", "SELECT 1"),
        ("SELECT 'never closed", "SELECT 'never closed"),  # cannot run either way; kept as one line
        ("", ""),
    ])
    def test_the_statement_ends_at_the_first_semicolon_token(self, answer: str, sql: str):
        assert first_sql_statement(answer) == sql

    def test_a_line_break_inside_a_literal_is_kept_by_extraction(self):
        assert first_sql_statement("SELECT id\nFROM city\nWHERE name = 'two\nlines';") == "SELECT id FROM city WHERE name = 'two\nlines'"

    def test_squeeze_whitespace_is_the_same_normalisation(self):
        assert squeeze_whitespace("  SELECT  'a  b'  ,\n x  ") == "SELECT 'a  b' , x"


class TestOneQueryPerLine:
    @pytest.mark.parametrize("sql", [
        "SELECT id FROM city WHERE name = 'New  York'",
        "SELECT id FROM city WHERE name = 'two\nlines'",
        "SELECT id FROM city WHERE name = 'crlf\r\nend'",
        "SELECT id FROM city WHERE name = 'it''s\nquoted'",
        "SELECT id FROM city WHERE name = '\n'",
        "SELECT id FROM city WHERE name = 'sep\u2028x'",
        "SELECT id FROM city WHERE name IN ('two\nlines', 'x') ORDER BY id",
        "SELECT id FROM city WHERE name LIKE 'two\n%'",
        "SELECT id FROM city WHERE name = 'TWO\nLINES' COLLATE NOCASE",
        "SELECT 'a\nb' || name, typeof('a\nb'), length('a\nb') FROM city ORDER BY id",
        "SELECT id\nFROM city\nWHERE name = 'two\nlines'",
    ])
    def test_a_single_line_query_executes_identically(self, sql: str, con):
        line = single_line_sql(sql)
        assert len(line.splitlines()) == 1 and line == line.strip()
        assert con.execute(line).fetchall() == con.execute(sql).fetchall()
        assert con.execute(sql).fetchall()  # the cases find rows, so "identically" is not "both empty"

    def test_a_line_break_in_a_literal_becomes_char_concatenation(self):
        assert single_line_sql("SELECT 'a\nb'") == "SELECT ('a' || char(10) || 'b')"
        assert single_line_sql("SELECT 'a\r\n'") == "SELECT ('a' || char(13) || char(10))"
        assert single_line_sql("SELECT  'New  York'") == "SELECT 'New  York'"

    @pytest.mark.parametrize("sql", ['SELECT "a\nb" FROM t', "SELECT [a\nb] FROM t", "SELECT 1 AS 'a\nb'"])
    def test_a_line_break_inside_a_name_cannot_be_on_one_line(self, sql: str):
        with pytest.raises(ValueError):
            single_line_sql(sql)

    def test_sql_that_does_not_tokenize_is_squeezed_as_text(self, con):
        assert single_line_sql("SELECT 'open\n  more") == "SELECT 'open more"  # SQLite refuses both
        with pytest.raises(sqlite3.OperationalError):
            con.execute("SELECT 'open\n  more")

    def test_pred_sql_has_one_line_per_prediction(self, tmp_path: Path, con, capsys):
        sqls = ["SELECT id FROM city WHERE name = 'two\nlines'", "", 'SELECT "na\nme" FROM city',
                "SELECT id FROM city WHERE name = 'New  York'"]
        write_pred_sql(tmp_path / "pred.sql", sqls)
        lines = (tmp_path / "pred.sql").read_text(encoding="utf-8").splitlines()
        assert lines == ["SELECT id FROM city WHERE name = ('two' || char(10) || 'lines')", "SELECT", "SELECT",
                         "SELECT id FROM city WHERE name = 'New  York'"]
        assert con.execute(lines[0]).fetchall() == con.execute(sqls[0]).fetchall() == [(2,)]
        assert con.execute(lines[3]).fetchall() == [(1,)]
        assert "pred.sql has SELECT on lines 3" in capsys.readouterr().err
