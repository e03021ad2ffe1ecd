"""Gold tables: the tables a gold SQL reads (SPEC §3.2)."""

from __future__ import annotations

import json

import pytest

from lrsql_plugin.schema.gold_tables import GoldTableError, gold_tables
from lrsql_plugin.schema.model import Column, Database, Table
from lrsql_plugin.sources.spider_tables import load_tables_json

# Hand-checked on Spider dev: index -> the tables the query reads (lower case).
HAND_CHECKED = {
    30: {"singer"},  # INTERSECT within one table
    41: {"concert", "stadium"},  # INTERSECT of two aliased joins
    59: {"student", "has_pet", "pets"},  # 3-way joins on both sides of INTERSECT, lower-case aliases
    31: {"stadium", "concert"},  # EXCEPT: plain table minus join
    63: {"student", "has_pet", "pets"},
    177: {"countries", "car_makers", "model_list"},  # UNION, upper-case names, HAVING
    257: {"airports", "flights"},  # NOT IN over a UNION subquery
    28: {"stadium", "concert"},  # NOT IN subquery
    61: {"student", "has_pet", "pets"},  # NOT IN subquery holding a 3-way join
    65: {"student", "has_pet", "pets"},  # alias T1 reused inside the subquery
    85: {"student", "has_pet"},
    37: {"singer_in_concert", "singer", "concert"},
    53: {"student", "has_pet", "pets"},
    57: {"student", "has_pet", "pets"},
    60: {"student", "has_pet", "pets"},
    83: {"student", "has_pet", "pets"},
    35: {"singer_in_concert", "singer"},
    77: {"student", "has_pet"},
    98: {"car_names", "cars_data"},  # scalar subquery in WHERE
    112: {"cars_data", "car_names"},  # trailing semicolon
    133: {"car_names", "cars_data"},
    147: {"car_makers", "model_list"},
    12: {"singer"},  # the subquery reads the same table
    43: {"concert", "stadium"},  # = (subquery with ORDER BY LIMIT)
    711: {"country", "city"},  # double-quoted string literal "Kabul"
    276: {"shop"},
    609: {"tv_channel", "cartoon"},
    840: {"conductor", "orchestra"},  # table named like its database
    885: {"friend", "highschooler"},
    918: {"owners", "professionals"},  # INTERSECT over two different tables
    447: {"matches"},
    498: {"battle", "ship"},
    516: {"degree_programs", "departments"},
    399: {"course_arrange", "course", "teacher"},
    420: {"visitor", "visit"},
    312: {"documents", "templates"},
    1032: {"properties", "ref_property_types"},
    699: {"contestants", "votes"},
    660: {"people", "poker_player"},
    1020: {"singer", "song"},
}


@pytest.fixture(scope="module")
def spider(spider_dir):
    return load_tables_json(spider_dir / "tables.json"), json.loads((spider_dir / "dev.json").read_text())


@pytest.mark.parametrize("index", sorted(HAND_CHECKED))
def test_gold_tables_match_hand_checked_list(spider, index):
    dbs, dev = spider
    q = dev[index]
    got = gold_tables(q["query"], dbs[q["db_id"]])
    assert {t.lower() for t in got} == HAND_CHECKED[index]


def test_every_spider_dev_query_has_gold_tables(spider):
    dbs, dev = spider
    for q in dev:
        assert gold_tables(q["query"], dbs[q["db_id"]]), q["query"]


def test_result_uses_schema_spelling_and_order(spider):
    dbs, dev = spider
    # query 177 writes CAR_MAKERS / MODEL_LIST / Countries; the schema spells them in lower case
    assert gold_tables(dev[177]["query"], dbs["car_1"]) == ["countries", "car_makers", "model_list"]


DB = Database(
    "toy",
    [
        Table("orders", [Column("id"), Column("customer_id")]),
        Table("customers", [Column("id"), Column("name")]),
        Table("order items", [Column("order_id"), Column("qty")]),
    ],
)


def test_cte_names_are_not_tables():
    sql = "WITH big AS (SELECT customer_id FROM orders) SELECT name FROM customers WHERE id IN (SELECT customer_id FROM big)"
    assert gold_tables(sql, DB) == ["orders", "customers"]


def test_quoted_names_and_case_insensitive_match():
    assert gold_tables('SELECT sum(qty) FROM "Order Items" AS oi JOIN ORDERS o ON o.id = oi.order_id', DB) == [
        "orders",
        "order items",
    ]


def test_derived_table_in_from():
    sql = "SELECT c.name FROM (SELECT customer_id, count(*) AS n FROM orders GROUP BY customer_id) AS t JOIN customers c ON c.id = t.customer_id"
    assert gold_tables(sql, DB) == ["orders", "customers"]


def test_unknown_table_is_an_error_naming_it():
    with pytest.raises(GoldTableError, match="not in database 'toy': invoices"):
        gold_tables("SELECT * FROM invoices", DB)


def test_unparsable_sql_is_an_error():
    with pytest.raises(GoldTableError, match="does not parse"):
        gold_tables("SELECT T1.LName  T1.age FROM orders AS T1", DB)


def test_two_statements_are_an_error():
    with pytest.raises(GoldTableError, match="one SQL statement"):
        gold_tables("SELECT 1 FROM orders; SELECT 2 FROM customers", DB)
