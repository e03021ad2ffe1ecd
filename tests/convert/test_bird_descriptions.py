"""BIRD description CSVs reach the schema (SPEC §3.1): matched loosely, decoded right, counted in the notes."""

from __future__ import annotations

import json
import sqlite3

import pytest

from lrsql_plugin.errors import InputError
from lrsql_plugin.prompts.render import PromptRenderer
from lrsql_plugin.sources.bird import describe, load_bird

HEADER = "original_column_name,column_name,column_description,data_format,value_description\r\n"


def make_bird(tmp_path, csv_bytes: bytes, csv_name: str = "FRPM.csv"):
    """A BIRD train layout with one database ``schools``: tables ``frpm`` and ``satscores``."""
    root = tmp_path / "bird"
    db_dir = root / "train_databases" / "schools"
    (db_dir / "database_description").mkdir(parents=True)
    con = sqlite3.connect(db_dir / "schools.sqlite")
    con.executescript(
        'CREATE TABLE frpm (CDSCode TEXT PRIMARY KEY, "Enrollment (K-12)" REAL, "FRPM Count (K-12)" REAL, '
        "School_Name TEXT);"
        "CREATE TABLE satscores (cds TEXT PRIMARY KEY, NumTstTakr INTEGER);"
    )
    con.close()
    columns = [[-1, "*"], [0, "CDSCode"], [0, "Enrollment (K-12)"], [0, "FRPM Count (K-12)"], [0, "School_Name"],
               [1, "cds"], [1, "NumTstTakr"]]
    tables = [{
        "db_id": "schools",
        "table_names_original": ["frpm", "satscores"],
        "table_names": ["frpm", "satscores"],
        "column_names_original": columns,
        "column_names": columns,
        "column_types": ["text", "text", "number", "number", "text", "text", "number"],
        "primary_keys": [1, 5],
        "foreign_keys": [[5, 1]],
    }]
    (root / "train_tables.json").write_text(json.dumps(tables))
    (root / "train.json").write_text(json.dumps([{
        "question_id": 0, "db_id": "schools", "question": "How many schools?", "evidence": "",
        "SQL": "SELECT count(*) FROM frpm", "difficulty": "simple",
    }]))
    (db_dir / "database_description" / csv_name).write_bytes(csv_bytes)
    return root


FRPM_CSV = (
    HEADER
    + "CDSCode,CDSCode,CDSCode,text,\r\n"
    # another case and extra inner/outer spaces; a cp1252 en dash (0x96) and a multi-line value description
    + ' enrollment  (k-12) ,Enrollment (K-12),Enrollment for grades K\x9612,real,"commonsense evidence:\r\nK-12 = kindergarten to grade 12"\r\n'
    # the text is only in column_name
    + "FRPM Count (K-12),Free or Reduced Price Meal Count (K-12),,real,\r\n"
    # column_name that adds nothing (case, underscores, spaces) and a cp1252 right quote (0x92)
    + "school_name,school name,the school\x92s name,text,\r\n"
).encode("latin-1")


def test_descriptions_are_matched_decoded_and_rendered(tmp_path):
    data = load_bird(make_bird(tmp_path, FRPM_CSV), "train")
    frpm = data.databases["schools"].table("frpm")
    got = {c.name: c.description for c in frpm.columns}
    assert got == {
        "CDSCode": "",  # the description only repeats the name
        "Enrollment (K-12)": "Enrollment for grades K\u201312; commonsense evidence: K-12 = kindergarten to grade 12",
        "FRPM Count (K-12)": "Free or Reduced Price Meal Count (K-12)",
        "School_Name": "the school\u2019s name",
    }
    assert not any(ch < " " or "\x80" <= ch <= "\x9f" for text in got.values() for ch in text)
    assert data.notes == ["descriptions: 4 of 4 columns matched"]
    ddl = PromptRenderer().schema(data.databases["schools"].tables)
    for text in got.values():
        if text:
            assert f"-- {text}" in ddl
    sqlite3.connect(":memory:").executescript(ddl)


def test_utf8_with_bom_is_read_as_utf8(tmp_path):
    body = (HEADER + "NumTstTakr,Number of Test Takers,how many took the SAT – all sections,integer,\r\n")
    data = load_bird(make_bird(tmp_path, body.encode("utf-8-sig"), "SatScores.csv"), "train")
    col = data.databases["schools"].table("satscores").column("numtsttakr")
    assert col.description == "Number of Test Takers: how many took the SAT – all sections"


def test_unmatched_rows_and_files_are_counted_and_listed(tmp_path):
    root = make_bird(tmp_path, (HEADER + "CDSCode,,the school code,text,\r\nno_such_col,,x,text,\r\n").encode())
    (root / "train_databases/schools/database_description/ghost.csv").write_text(HEADER + "a,,b,text,\r\n")
    data = load_bird(root, "train")
    assert data.notes[0] == "descriptions: 1 of 3 columns matched"
    assert "schools/FRPM.csv: no_such_col" in data.notes[1] and "schools/ghost.csv" in data.notes[1]
    assert data.notes[1].startswith("descriptions not matched: ")


def test_a_csv_that_does_not_parse_names_the_file(tmp_path):
    root = make_bird(tmp_path, (HEADER + 'CDSCode,,"unterminated,text,\r\n').encode())
    with pytest.raises(InputError, match="FRPM.csv"):
        load_bird(root, "train")


def test_a_csv_without_the_column_header_names_the_file(tmp_path):
    root = make_bird(tmp_path, b"name,text\r\nCDSCode,x\r\n")
    with pytest.raises(InputError, match="FRPM.csv.*original_column_name"):
        load_bird(root, "train")


@pytest.mark.parametrize(
    ("row", "text"),
    [
        (("eid", "employee id", "", ""), "employee id"),
        (("eid", "eid", "the id", ""), "the id"),
        (("First_Name", "first name", "first name", "Jane"), "Jane"),
        (("cnt", "count of items", "how many", "how many"), "count of items: how many"),
        (("x", "", "", ""), ""),
    ],
)
def test_describe_one_line_form(row, text):
    assert describe(*row) == text
