"""The ``spider2`` source: Spider 2.0-lite's schemas, questions and gold tables.

The real part (``../shared/data/spider2-lite``, see its README) is read once per session; the
error and CLI cases use tiny layouts built in ``tmp_path``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from lrsql_plugin.cli.convert import main as convert_main
from lrsql_plugin.errors import InputError
from lrsql_plugin.sources import SOURCES
from lrsql_plugin.sources.spider2 import bound_document, load_spider2
from lrsql_plugin.tokens import approx_token_count

GA = "bigquery-public-data.google_analytics_sample.ga_sessions_"


@pytest.fixture(scope="module")
def spider2_dir(shared_data: Path) -> Path:
    path = shared_data / "spider2-lite"
    if not path.is_dir():
        pytest.skip(f"{path} is absent")
    return path


@pytest.fixture(scope="module")
def data(spider2_dir: Path):
    return load_spider2(spider2_dir)


def note(data, start: str) -> str:
    found = [n for n in data.notes if n.startswith(start)]
    assert found, data.notes
    return found[0]


def json_stems(folder: Path) -> set[str]:
    return {p.stem for p in folder.glob("*.json")}


# --- schemas ------------------------------------------------------------------------------------


def test_the_source_is_registered():
    assert SOURCES["spider2"] is load_spider2


def test_95_databases_of_three_engines(data):
    assert len(data.databases) == 95
    assert note(data, "spider2: 95 databases").startswith("spider2: 95 databases (39 bigquery, 38 snowflake, 18 sqlite)")
    assert data.executable is False and data.db_root is None


def test_tables_are_the_4850_json_files_plus_the_ddl_only_ones(data, spider2_dir):
    """README: 4,850 tables (its table JSON files).  DDL.csv also declares 157 GITHUB_REPOS_DATE monthly and
    yearly tables that have no JSON file; they are read from their DDL, so the schema has 5,007."""
    assert sum(len(db.tables) for db in data.databases.values()) == 5007
    github = spider2_dir / "resource/databases/snowflake/GITHUB_REPOS_DATE"
    ddl_only = [
        t for t in data.databases["GITHUB_REPOS_DATE"].tables
        if t.name.split(".")[1] in ("MONTH", "YEAR")
        and t.name.split(".")[2] not in json_stems(github / t.name.split(".")[1])
    ]
    assert len(ddl_only) == 157
    assert "5,007 tables (157 from DDL.csv alone)" in note(data, "spider2: 95 databases")
    # read like their JSON-described siblings: same column names, the JSON files' type names
    month = data.databases["GITHUB_REPOS_DATE"]
    declared = month.table("GITHUB_REPOS_DATE.MONTH._201104")
    described = month.table("GITHUB_REPOS_DATE.MONTH._201706")
    assert declared in ddl_only and described not in ddl_only
    assert {(c.name, c.type) for c in declared.columns} == {(c.name, c.type) for c in described.columns}


def test_columns_top_level_as_the_readme_counts_them_plus_nested_fields(data, spider2_dir):
    """README: 266,583 columns, the JSON files' top-level ``column_names``.  Nested BigQuery fields are
    columns of their own (``totals.visits``), so the schema has more."""
    github = spider2_dir / "resource/databases/snowflake/GITHUB_REPOS_DATE"
    top_level = 0
    for db in data.databases.values():
        for t in db.tables:
            parts = t.name.split(".")
            if db.db_id == "GITHUB_REPOS_DATE" and parts[1] in ("MONTH", "YEAR") and parts[2] not in json_stems(
                github / parts[1]
            ):
                continue  # declared by DDL.csv alone
            top_level += sum(1 for c in t.columns if "." not in c.name)
    assert top_level == 266_583
    total = sum(len(t.columns) for db in data.databases.values() for t in db.tables)
    assert total > 400_000
    assert f"{total:,} columns" in note(data, "spider2: 95 databases")


def test_fec_is_one_database_of_486_tables_from_several_datasets(data):
    fec = data.databases["fec"]
    assert len(fec.tables) == 486
    assert sum(len(t.columns) for t in fec.tables) == 71_833
    datasets = {t.name.rsplit(".", 1)[0] for t in fec.tables}
    assert {"bigquery-public-data.fec", "bigquery-public-data.census_bureau_acs"} <= datasets
    assert len([e for e in data.examples if e.db_id == "fec"]) == 2


def test_covid19_usa_has_a_table_of_1270_columns(data):
    db = data.databases["covid19_usa"]
    wide = db.table("bigquery-public-data.covid19_usafacts.confirmed_cases")
    assert len(wide.columns) == 1270
    assert max(len(t.columns) for t in db.tables) == 1270
    assert wide.columns[0].name == "county_fips_code"


def test_ga360_daily_tables_share_their_columns_and_nested_fields_are_columns(data):
    db = data.databases["ga360"]
    daily = [t for t in db.tables if t.name.startswith(GA)]
    assert len(daily) == 366
    assert daily[0].name == GA + "20160801" and daily[-1].name == GA + "20170801"
    first = [(c.name, c.type) for c in daily[0].columns]
    assert len(first) == 336
    # the README calls them identical; from 2017-07-01 upstream adds two fields to the same 336
    for t in daily:
        cols = [(c.name, c.type) for c in t.columns]
        extra = [c for c in cols if c not in first]
        assert [c for c in cols if c in first] == first
        assert extra == ([] if t.name < GA + "20170701" else [("hits.product.productCouponCode", "STRING"), ("clientId", "STRING")])
    t = daily[0]
    assert t.column("totals").type == "STRUCT"
    assert t.column("totals.visits").type == "INT64"
    assert t.column("hits").type == "ARRAY<STRUCT>"
    assert t.column("hits.product.productSKU").type == "STRING"
    names = [c.name for c in t.columns]
    assert names.index("totals") < names.index("totals.visits") < names.index("trafficSource")
    assert t.column("visitNumber").description.startswith("The session number for this user.")
    # no STRUCT<...> spelled out anywhere: the leaves carry the detail
    assert max(len(c.type) for d in data.databases.values() for t in d.tables for c in t.columns) < 40
    assert any(len(e.gold_tables) == 366 for e in data.examples if e.db_id == "ga360")


def test_the_four_folders_without_ddl_are_read_from_their_json(data, spider2_dir):
    bq = spider2_dir / "resource/databases/bigquery"
    folders = {
        ("fec", "bigquery-public-data.census_bureau_acs"): bq / "fec/bigquery-public-data.census_bureau_acs",
        ("covid19_usa", "bigquery-public-data.census_bureau_acs"): bq / "covid19_usa/bigquery-public-data.census_bureau_acs",
        ("gnomAD", "bigquery-public-data.gnomAD"): bq / "gnomAD/bigquery-public-data.gnomAD",
        ("GITHUB_REPOS_DATE", "GITHUB_REPOS_DATE.DAY"): spider2_dir / "resource/databases/snowflake/GITHUB_REPOS_DATE/DAY",
    }
    for (db_id, prefix), folder in folders.items():
        assert not (folder / "DDL.csv").exists()
        stems = json_stems(folder)
        assert stems
        tables = {t.name.rsplit(".", 1)[1] for t in data.databases[db_id].tables if t.name.rsplit(".", 1)[0] == prefix}
        assert tables == stems, folder
    assert note(data, "spider2: 4 folders have no DDL.csv")


def test_ddl_that_does_not_parse_is_counted_and_its_json_still_describes_the_table(data):
    assert "21 did not parse (1 bigquery, 14 snowflake, 6 sqlite" in note(data, "spider2: 4,404 DDL statements")
    amazon = data.databases["AMAZON_VENDOR_ANALYTICS__SAMPLE_DATASET"]
    table = amazon.table("AMAZON_VENDOR_ANALYTICS__SAMPLE_DATASET.PUBLIC.ADS_SPONSORED_BRANDS_CAMPAIGN_VC")
    assert table.column("14_DAY_CONVERSION_RATE").type == "FLOAT"
    assert len(data.databases["Pagila"].tables) > 10


def test_table_descriptions_from_ddl_csv_and_bigquery_options(data):
    snow = data.databases["FINANCE__ECONOMICS"].table("FINANCE__ECONOMICS.CYBERSYN.BANK_FOR_INTERNATIONAL_SETTLEMENTS_ATTRIBUTES")
    assert snow.description.startswith("Financial variables on international property prices")
    htan = [t for t in data.databases["HTAN_1"].tables if t.description]
    assert htan and all("\n" not in t.description for t in htan)
    assert any("Data was extracted from HTAN Synapse projects" in t.description for t in htan)


def test_names_with_a_space_after_a_dot_are_normalised_so_gold_matches(data):
    db = data.databases["nhtsa_traffic_fatalities_plus"]
    assert all(" " not in t.name for t in db.tables)
    assert db.table("bigquery-public-data.nhtsa_traffic_fatalities.drimpair_2015") is not None
    bq105 = next(e for e in data.examples if e.question_id == "bq105")
    assert "bigquery-public-data.nhtsa_traffic_fatalities.accident_2015" in bq105.gold_tables


# --- questions ----------------------------------------------------------------------------------


def test_questions_on_databases_without_a_schema_folder_are_skipped_naming_the_db(data):
    unknown = [s for s in data.skipped if "has no schema folder" in s.reason]
    assert len(unknown) == 12
    assert sum("'sqlite-sakila'" in s.reason for s in unknown) == 7
    assert sum("'Db-IMDB'" in s.reason for s in unknown) == 5
    assert all(s.record.startswith("line ") and s.file.endswith("spider2-lite.jsonl") for s in unknown)


def test_a_question_without_gold_and_one_with_tables_the_schema_lacks_are_skipped(data):
    by_id = {s.reason.split(":")[0]: s for s in data.skipped}
    assert "no gold tables" in by_id["sf_bq015"].reason
    idc = by_id["sf_bq455"].reason
    assert "'IDC.IDC.COLUMNS'" in idc and "'IDC.IDC.ROWS'" in idc and "'IDC'" in idc
    assert len(data.skipped) == 14 and len(data.examples) == 313
    assert note(data, "spider2: 14 of 327 questions skipped") == (
        "spider2: 14 of 327 questions skipped: 12 db without a schema folder (sqlite-sakila 7, Db-IMDB 5); "
        "1 no gold tables; 1 gold table not in the schema (IDC.IDC.COLUMNS, IDC.IDC.ROWS)"
    )


def test_every_kept_question_names_tables_of_its_database_in_the_schemas_spelling(data, spider2_dir):
    for e in data.examples:
        db = data.databases[e.db_id]
        assert e.gold_tables and all(db.table(n) is not None and db.table(n).name == n for n in e.gold_tables), e.question_id
        assert e.sql == "" and e.question
    # 22 gold names differ from the schema's only in case (Snowflake's unquoted names)
    assert "22 ignoring case" in note(data, "spider2: 3,644 gold-table mentions matched")
    raw = {json.loads(line)["instance_id"]: json.loads(line)["gold_tables"]
           for line in (spider2_dir / "spider2-lite-gold-tables.jsonl").read_text().splitlines()}
    assert any(list(e.gold_tables) != raw[e.question_id] for e in data.examples)


def test_examples_keep_their_id_position_file_and_engine_dialect(data, spider2_dir):
    first = data.examples[0]
    assert (first.question_id, first.db_id, first.index, first.dialect) == ("bq011", "ga4", 0, "bigquery")
    assert first.source_file == str(spider2_dir / "spider2-lite.jsonl")
    assert {e.dialect for e in data.examples} == {"bigquery", "snowflake", "sqlite"}
    assert all(e.dialect == "sqlite" for e in data.examples if e.question_id.startswith("local"))
    assert all(e.dialect == "snowflake" for e in data.examples if e.question_id.startswith("sf"))


def test_evidence_is_the_document_bounded_to_the_token_limit(data, spider2_dir):
    with_doc = [e for e in data.examples if e.evidence]
    assert len(with_doc) == 73
    assert all(approx_token_count(e.evidence) <= 512 for e in data.examples)
    cut = [e for e in with_doc if e.evidence.endswith("\n[... document truncated to 512 tokens]")]
    assert cut
    # the cut falls on a line boundary of the document, whose beginning is kept as it is
    bq011 = data.examples[0]
    text = (spider2_dir / "resource/documents/ga4_obfuscated_sample_ecommerce.events.md").read_text().strip()
    body = bq011.evidence.removesuffix("[... document truncated to 512 tokens]").rstrip()
    assert bq011 in cut and text.startswith(body) and text[len(body)] == "\n"


def test_bound_document_cuts_at_a_paragraph_and_zero_means_whole():
    text = "\n\n".join(f"Paragraph {i}." + " word" * 40 for i in range(50))
    assert bound_document(text, 0) == (text, False)
    assert bound_document("short text", 100) == ("short text", False)
    bounded, cut = bound_document(text, 200)
    assert cut and approx_token_count(bounded) <= 200
    body, marker = bounded.rsplit("\n\n", 1)
    assert marker == "[... document truncated to 200 tokens]"
    assert body.endswith("word") and (body + "\n\n") in text and text.startswith(body)


# --- tiny layouts ---------------------------------------------------------------------------------


def write_jsonl(path: Path, records: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def table_json(folder: Path, name: str, fullname: str, columns: list[tuple[str, str]], **extra) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    record = {
        "table_name": name, "table_fullname": fullname,
        "column_names": [c for c, _ in columns], "column_types": [t for _, t in columns],
        "description": ["" for _ in columns], "sample_rows": [], **extra,
    }
    (folder / f"{name}.json").write_text(json.dumps(record))


def tiny_layout(root: Path) -> Path:
    dbs = root / "resource/databases"
    shop = dbs / "sqlite/shop"
    table_json(shop, "customers", "customers", [("id", "INTEGER"), ("name", "TEXT")])
    table_json(shop, "orders", "orders", [("id", "INTEGER"), ("customer_id", "INTEGER"), ("total", "REAL")])
    (shop / "DDL.csv").write_text(
        "table_name,DDL\n"
        'customers,"CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)"\n'
        'orders,"CREATE TABLE orders (\n  id INTEGER PRIMARY KEY,\n  customer_id INTEGER REFERENCES customers(id),\n'
        '  total REAL\n)"\n'
        'refunds,"CREATE TABLE refunds (order_id INTEGER, amount REAL, FOREIGN KEY (order_id) REFERENCES orders(id))"\n'
    )
    web = dbs / "bigquery/web/proj.analytics"
    table_json(
        web, "sessions", "proj.analytics. sessions", [("id", "INT64"), ("totals", "STRUCT<visits INT64,  hits INT64>")],
        nested_column_names=["id", "totals", "totals.visits", "totals.hits"],
        nested_column_types=["INT64", "STRUCT<visits INT64,  hits INT64>", "INT64", "INT64"],
    )
    (web / "DDL.csv").write_text(
        "table_name,ddl\n"
        'sessions,"CREATE TABLE `proj.analytics.sessions` (id INT64, totals STRUCT<visits INT64, hits INT64>)\n'
        'OPTIONS(description=""One row per visit"")"\n'
    )
    wh = dbs / "snowflake/WH/PUBLIC"
    table_json(wh, "ITEMS", "WH.PUBLIC.ITEMS", [("ID", "NUMBER")])
    table_json(wh, "items_lower", "WH.PUBLIC.items", [("ID", "NUMBER")])
    (wh / "DDL.csv").write_text('table_name,description,DDL\nWH.PUBLIC.ITEMS,Things for sale,"create or replace TABLE ITEMS (ID NUMBER(38,0))"\n')
    docs = root / "resource/documents"
    docs.mkdir(parents=True)
    (docs / "guide.md").write_text("# Guide\n\n" + "\n\n".join("Revenue means total. " * 20 for _ in range(30)))
    write_jsonl(root / "spider2-lite.jsonl", [
        {"instance_id": "local1", "db": "shop", "question": "Who spent most?", "external_knowledge": None},
        {"instance_id": "bq1", "db": "web", "question": "How many visits?", "external_knowledge": "guide.md"},
        {"instance_id": "sf1", "db": "WH", "question": "List items.", "external_knowledge": None},
        {"instance_id": "x1", "db": "nowhere", "question": "?", "external_knowledge": None},
    ])
    write_jsonl(root / "spider2-lite-gold-tables.jsonl", [
        {"instance_id": "local1", "gold_tables": ["customers", "orders"]},
        {"instance_id": "bq1", "gold_tables": ["proj.analytics.sessions"]},
        {"instance_id": "sf1", "gold_tables": ["wh.public.items"]},
    ])
    return root


def test_tiny_layout_keys_ddl_only_tables_nested_fields_and_case_duplicates(tmp_path):
    data = load_spider2(tiny_layout(tmp_path), max_evidence_tokens=100)
    shop = data.databases["shop"]
    assert shop.table_names == ["customers", "orders", "refunds"]
    assert shop.table("orders").primary_key == ["id"]
    assert [(fk.column, fk.ref_table, fk.ref_column) for fk in shop.table("orders").foreign_keys] == [("customer_id", "customers", "id")]
    assert [(fk.column, fk.ref_table, fk.ref_column) for fk in shop.table("refunds").foreign_keys] == [("order_id", "orders", "id")]
    web = data.databases["web"].table("proj.analytics.sessions")
    assert [(c.name, c.type) for c in web.columns] == [("id", "INT64"), ("totals", "STRUCT"), ("totals.visits", "INT64"), ("totals.hits", "INT64")]
    assert web.description == "One row per visit"
    wh = data.databases["WH"]
    assert wh.table_names == ["WH.PUBLIC.ITEMS"] and wh.table("WH.PUBLIC.ITEMS").description == "Things for sale"
    assert "spider2: db 'WH': tables 'WH.PUBLIC.ITEMS' and 'WH.PUBLIC.items' differ only in case: the first is kept" in data.notes
    by_id = {e.question_id: e for e in data.examples}
    assert by_id["sf1"].gold_tables == ("WH.PUBLIC.ITEMS",) and by_id["sf1"].dialect == "snowflake"
    assert by_id["local1"].dialect == "sqlite" and by_id["bq1"].dialect == "bigquery"
    assert by_id["bq1"].evidence.startswith("# Guide") and approx_token_count(by_id["bq1"].evidence) <= 100
    assert [s.record for s in data.skipped] == ["line 4"] and "'nowhere'" in data.skipped[0].reason


def test_a_malformed_table_json_is_an_input_error_naming_the_file(tmp_path):
    root = tiny_layout(tmp_path)
    bad = root / "resource/databases/sqlite/shop/orders.json"
    bad.write_text('{"table_name": "orders", "column_names": [')
    with pytest.raises(InputError) as err:
        load_spider2(root)
    assert err.value.file == str(bad) and str(err.value).startswith(f"{bad}, line 1: not valid JSON")


def test_a_table_json_without_columns_or_a_malformed_question_line_is_an_input_error(tmp_path):
    root = tiny_layout(tmp_path)
    odd = root / "resource/databases/sqlite/shop/customers.json"
    odd.write_text('{"table_fullname": "customers", "column_names": ["id"], "column_types": []}')
    with pytest.raises(InputError, match="1 column_names but 0 column_types") as err:
        load_spider2(root)
    assert err.value.file == str(odd)
    odd.write_text('{"table_fullname": "customers", "column_names": ["id"], "column_types": ["INTEGER"]}')
    questions = root / "spider2-lite.jsonl"
    questions.write_text(questions.read_text() + "{not json\n")
    with pytest.raises(InputError) as err:
        load_spider2(root)
    assert str(err.value).startswith(f"{questions}, line 5: not valid JSON")


def test_missing_folders_and_files_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="Spider 2.0 folder not found"):
        load_spider2(tmp_path / "absent")
    with pytest.raises(InputError, match="schema folder not found"):
        load_spider2(tmp_path)
    root = tiny_layout(tmp_path / "layout")
    (root / "spider2-lite-gold-tables.jsonl").unlink()
    with pytest.raises(InputError, match="file not found"):
        load_spider2(root)
    root = tiny_layout(tmp_path / "layout2")
    (root / "resource/documents/guide.md").unlink()
    with pytest.raises(InputError, match="guide.md not found"):
        load_spider2(root)


def test_cli_converts_a_tiny_layout_end_to_end(tmp_path):
    root = tiny_layout(tmp_path / "spider2")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        convert_main, ["spider2", "--spider2-dir", str(root), "--out", str(out), "--quiet"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "spider2: 1 of 4 questions skipped" in result.output
    questions = [json.loads(line) for line in (out / "questions.jsonl").read_text().splitlines()]
    assert [(q["db_id"], q["gold_tables"], q["dialect"], q["sql"]) for q in questions] == [
        ("shop", ["customers", "orders"], "sqlite", ""),
        ("web", ["proj.analytics.sessions"], "bigquery", ""),
        ("WH", ["WH.PUBLIC.ITEMS"], "snowflake", ""),
    ]
    assert len(json.loads((out / "schema_link.json").read_text())) == 3
