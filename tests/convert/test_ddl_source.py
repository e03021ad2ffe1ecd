"""The ``ddl`` source: schema dumps (mysqldump --no-data, pg_dump --schema-only) read with sqlglot.

The two fixture dumps (tests/convert/data/dumps/{mysql,postgres}/shop.sql) describe the same shop in
the exact style of mysqldump 8.0 and pg_dump 16: header comments, SET noise, DROP TABLE IF EXISTS,
table options, sequences, identity columns, a function with a $$ body, a trigger, indexes, a view,
and keys declared inline (MySQL) or added by ALTER TABLE at the end (PostgreSQL).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from lrsql_plugin.errors import InputError
from lrsql_plugin.schema.gold_tables import GoldTableError, example_gold_tables, gold_tables
from lrsql_plugin.schema.model import ForeignKey
from lrsql_plugin.sources import SOURCES
from lrsql_plugin.sources.ddl_dump import load_ddl_dir, parse_schema_dump
from tests.convert.conftest import run_convert

DUMPS = Path(__file__).parent / "data" / "dumps"
MYSQL_DUMP = DUMPS / "mysql" / "shop.sql"
PG_DUMP = DUMPS / "postgres" / "shop.sql"

TABLES = ["customers", "order_items", "orders", "products", "shipments"]  # dump order (both tools sort by name)
PRIMARY_KEYS = {
    "customers": ["id"],
    "order_items": ["order_id", "line_no"],  # composite
    "orders": ["id"],
    "products": ["sku"],
    "shipments": ["id"],
}
FOREIGN_KEYS = {
    "customers": [],
    "order_items": [ForeignKey("order_id", "orders", "id"), ForeignKey("product_sku", "products", "sku")],
    "orders": [ForeignKey("customer_id", "customers", "id")],
    "products": [],
    # composite (order_id, line_no) -> order_items: one ForeignKey per column pair
    "shipments": [ForeignKey("order_id", "order_items", "order_id"), ForeignKey("line_no", "order_items", "line_no")],
}
MYSQL_COLUMNS = {
    "customers": [("id", "int unsigned"), ("email", "varchar(255)"), ("full_name", "varchar(100)"),
                  ("is_active", "tinyint(1)"), ("created_at", "datetime")],
    "order_items": [("order_id", "int unsigned"), ("line_no", "smallint"), ("product_sku", "char(12)"),
                    ("quantity", "int"), ("unit_price", "decimal(10,2)")],
    "orders": [("id", "int unsigned"), ("customer_id", "int unsigned"),
               ("status", "enum('new','paid','shipped','cancelled')"), ("placed_at", "datetime"), ("note", "text")],
    "products": [("sku", "char(12)"), ("name", "varchar(200)"), ("price", "decimal(10,2)"), ("weight_kg", "double")],
    "shipments": [("id", "bigint"), ("order_id", "int unsigned"), ("line_no", "smallint"), ("shipped_on", "date"),
                  ("carrier", "varchar(40)")],
}
PG_COLUMNS = {
    "customers": [("id", "integer"), ("email", "character varying(255)"), ("full_name", "character varying(100)"),
                  ("is_active", "boolean"), ("created_at", "timestamp without time zone")],
    "order_items": [("order_id", "integer"), ("line_no", "smallint"), ("product_sku", "character(12)"),
                    ("quantity", "integer"), ("unit_price", "numeric(10,2)")],
    "orders": [("id", "integer"), ("customer_id", "integer"), ("status", "public.order_status"),
               ("placed_at", "timestamp with time zone"), ("note", "text"), ("tags", "text[]")],
    "products": [("sku", "character(12)"), ("name", "character varying(200)"), ("price", "numeric(10,2)"),
                 ("weight_kg", "double precision")],
    "shipments": [("id", "bigint"), ("order_id", "integer"), ("line_no", "smallint"), ("shipped_on", "date"),
                  ("carrier", "character varying(40)")],
}


@pytest.fixture(scope="module")
def mysql_db():
    return parse_schema_dump(MYSQL_DUMP.read_text(), "mysql", "shop", str(MYSQL_DUMP))


@pytest.fixture(scope="module")
def pg_db():
    return parse_schema_dump(PG_DUMP.read_text(), "postgres", "shop", str(PG_DUMP))


def write_questions(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


# ------------------------------------------------------------------------------------------ mysqldump


def test_mysqldump_tables_columns_and_types_as_declared(mysql_db):
    assert mysql_db.table_names == TABLES  # the view order_totals is not a table
    for t in mysql_db.tables:
        assert [(c.name, c.type) for c in t.columns] == MYSQL_COLUMNS[t.name], t.name


def test_mysqldump_keys_inline_table_level_and_composite(mysql_db):
    for t in mysql_db.tables:
        assert t.primary_key == PRIMARY_KEYS[t.name], t.name
        assert t.foreign_keys == FOREIGN_KEYS[t.name], t.name


def test_mysqldump_column_and_table_comments_are_descriptions(mysql_db):
    customers = mysql_db.table("customers")
    assert customers.column("full_name").description == "name as printed on invoices; may be blank"
    assert customers.column("email").description == ""
    assert customers.description == "registered shoppers"  # ENGINE=... COMMENT='registered shoppers'
    assert mysql_db.table("orders").column("note").description == "free text from the checkout form"


def test_mysqldump_noise_and_versioned_comments_of_older_dumps():
    # mysqldump 5.7: int(11), LOCK TABLES / INSERT with ';' inside strings, a stand-in table for a view
    # that the final view replaces, a trigger between DELIMITER lines, partitioning options.
    dump = """-- MySQL dump 10.13  Distrib 5.7.44, for Linux (x86_64)
/*!40101 SET NAMES utf8 */;
DROP TABLE IF EXISTS `users`;
CREATE TABLE `users` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `name` varchar(255) COLLATE utf8_unicode_ci NOT NULL DEFAULT '' COMMENT 'it''s \\'the\\' name; shown',
  `balance` decimal(10,2) unsigned zerofill DEFAULT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB AUTO_INCREMENT=3 DEFAULT CHARSET=utf8 COLLATE=utf8_unicode_ci;
LOCK TABLES `users` WRITE;
/*!40000 ALTER TABLE `users` DISABLE KEYS */;
INSERT INTO `users` VALUES (1,'a;b',NULL),(2,'CREATE TABLE x (',NULL);
/*!40000 ALTER TABLE `users` ENABLE KEYS */;
UNLOCK TABLES;
DROP TABLE IF EXISTS `active_users`;
/*!50001 DROP VIEW IF EXISTS `active_users`*/;
/*!50001 CREATE TABLE `active_users` (
  `id` tinyint NOT NULL
) ENGINE=MyISAM */;
CREATE TABLE `logins` (
  `id` int(11) NOT NULL,
  `user_id` int(11) DEFAULT NULL,
  PRIMARY KEY (`id`),
  CONSTRAINT `logins_ibfk_1` FOREIGN KEY (`user_id`) REFERENCES `users` (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8
/*!50100 PARTITION BY RANGE (id)
(PARTITION p0 VALUES LESS THAN (1000) ENGINE = InnoDB) */;
DELIMITER ;;
/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER trg BEFORE INSERT ON users FOR EACH ROW BEGIN SET NEW.name = 'x'; END */;;
DELIMITER ;
/*!50001 DROP TABLE IF EXISTS `active_users`*/;
/*!50001 DROP VIEW IF EXISTS `active_users`*/;
/*!50001 CREATE ALGORITHM=UNDEFINED */
/*!50013 DEFINER=`root`@`localhost` SQL SECURITY DEFINER */
/*!50001 VIEW `active_users` AS select `users`.`id` AS `id` from `users` */;
"""
    db = parse_schema_dump(dump, "mysql", "app", "app.sql")
    assert db.table_names == ["users", "logins"]
    users = db.table("users")
    assert [(c.name, c.type) for c in users.columns] == [
        ("id", "int(11)"), ("name", "varchar(255)"), ("balance", "decimal(10,2) unsigned zerofill"),
    ]
    assert users.column("name").description == "it's 'the' name; shown"
    assert db.table("logins").foreign_keys == [ForeignKey("user_id", "users", "id")]


def test_phpmyadmin_style_keys_added_by_alter_table():
    dump = """CREATE TABLE `a` (`id` int NOT NULL, `b_id` int NOT NULL);
CREATE TABLE `b` (`id` int NOT NULL);
ALTER TABLE `a` ADD PRIMARY KEY (`id`), ADD KEY `b_id` (`b_id`);
ALTER TABLE `b` ADD PRIMARY KEY (`id`);
ALTER TABLE `a` MODIFY `id` int NOT NULL AUTO_INCREMENT;
ALTER TABLE `a` ADD CONSTRAINT `a_ibfk_1` FOREIGN KEY (`b_id`) REFERENCES `b` (`id`);
"""
    db = parse_schema_dump(dump, "mysql", "x", "x.sql")
    assert db.table("a").primary_key == ["id"]
    assert db.table("b").primary_key == ["id"]
    assert db.table("a").foreign_keys == [ForeignKey("b_id", "b", "id")]


# ------------------------------------------------------------------------------------------ pg_dump


def test_pg_dump_tables_columns_and_types_as_declared(pg_db):
    assert pg_db.table_names == TABLES  # public. is dropped; the view is not a table
    for t in pg_db.tables:
        assert [(c.name, c.type) for c in t.columns] == PG_COLUMNS[t.name], t.name


def test_pg_dump_keys_added_by_alter_table_only(pg_db):
    for t in pg_db.tables:
        assert t.primary_key == PRIMARY_KEYS[t.name], t.name
        assert t.foreign_keys == FOREIGN_KEYS[t.name], t.name


def test_pg_dump_comment_on_column_and_table(pg_db):
    customers = pg_db.table("customers")
    assert customers.description == "registered shoppers"
    assert customers.column("full_name").description == "name as printed on invoices; may be blank"
    assert pg_db.table("orders").column("note").description == "free text from the checkout form; the customer's own words"


def test_tables_of_one_name_in_two_schemas_keep_the_non_default_qualifier():
    dump = """CREATE TABLE public.orders (id integer NOT NULL);
CREATE SCHEMA audit;
CREATE TABLE audit.orders (id integer NOT NULL, order_id integer);
CREATE TABLE audit.log (id integer, entry_id integer);
ALTER TABLE ONLY audit.orders ADD CONSTRAINT orders_order_id_fkey FOREIGN KEY (order_id) REFERENCES public.orders(id);
ALTER TABLE ONLY audit.log ADD CONSTRAINT log_entry_fkey FOREIGN KEY (entry_id) REFERENCES audit.orders(id);
COMMENT ON COLUMN audit.orders.order_id IS E'the audited order\\'s id';
"""
    db = parse_schema_dump(dump, "postgres", "x", "x.sql")
    assert db.table_names == ["orders", "audit.orders", "log"]
    assert db.table("audit.orders").foreign_keys == [ForeignKey("order_id", "orders", "id")]
    assert db.table("log").foreign_keys == [ForeignKey("entry_id", "audit.orders", "id")]
    assert db.table("audit.orders").column("order_id").description == "the audited order's id"
    assert gold_tables("SELECT * FROM audit.orders a JOIN public.orders o ON o.id = a.order_id", db, "postgres") == [
        "orders", "audit.orders",
    ]
    assert gold_tables("SELECT * FROM orders", db, "postgres") == ["orders"]


def test_other_dialects_sqlite_schema_and_tsql_script():
    sqlite_db = parse_schema_dump(
        "CREATE TABLE singer (singer_id int, name text, PRIMARY KEY (singer_id));\n"
        "CREATE TABLE concert (concert_id INTEGER PRIMARY KEY AUTOINCREMENT, singer_id REFERENCES singer, venue);\n",
        "sqlite", "concerts", "concerts.sql",
    )
    concert = sqlite_db.table("concert")
    assert [(c.name, c.type) for c in concert.columns] == [("concert_id", "INTEGER"), ("singer_id", ""), ("venue", "")]
    assert concert.primary_key == ["concert_id"]
    assert concert.foreign_keys == [ForeignKey("singer_id", "singer", "singer_id")]  # REFERENCES t: its primary key
    tsql_db = parse_schema_dump(
        """SET ANSI_NULLS ON
GO
CREATE TABLE [dbo].[Customers]([CustomerID] [nchar](5) NOT NULL,
 CONSTRAINT [PK_Customers] PRIMARY KEY CLUSTERED ([CustomerID] ASC) WITH (PAD_INDEX = OFF) ON [PRIMARY]
) ON [PRIMARY]
GO
CREATE TABLE [dbo].[Orders]([OrderID] [int] IDENTITY(1,1) NOT NULL, [CustomerID] [nchar](5) NULL, [Note] [nvarchar](max) NULL
) ON [PRIMARY] TEXTIMAGE_ON [PRIMARY]
GO
ALTER TABLE [dbo].[Orders] WITH CHECK ADD CONSTRAINT [FK_Orders_Customers] FOREIGN KEY([CustomerID])
REFERENCES [dbo].[Customers] ([CustomerID])
GO
""",
        "tsql", "northwind", "northwind.sql",
    )
    assert tsql_db.table_names == ["Customers", "Orders"]
    assert tsql_db.table("Customers").primary_key == ["CustomerID"]
    assert [(c.name, c.type) for c in tsql_db.table("Orders").columns] == [
        ("OrderID", "int"), ("CustomerID", "nchar(5)"), ("Note", "nvarchar(max)"),
    ]
    assert tsql_db.table("Orders").foreign_keys == [ForeignKey("CustomerID", "Customers", "CustomerID")]


# ------------------------------------------------------------------------------------------ errors


BROKEN = """-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)
/*!40101 SET NAMES utf8mb4 */;
DROP TABLE IF EXISTS `t`;
--
-- Table structure for table `t`
--

CREATE TABLE `t` (
  `id` int NOT NULL,
  `price` decimal(10,2 NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB;
"""


def test_a_create_table_sqlglot_cannot_read_names_file_line_and_statement(tmp_path):
    bad = tmp_path / "broken.sql"
    bad.write_text(BROKEN)
    with pytest.raises(InputError) as err:
        parse_schema_dump(bad.read_text(), "mysql", "broken", str(bad))
    # the line of CREATE itself (not of the comments before it), the statement's number in the file
    assert str(err.value).startswith(f"{bad}, line 8: statement 3 (CREATE TABLE `t`): sqlglot cannot read it (")


def test_cli_stops_on_a_broken_dump_and_writes_nothing(tmp_path):
    (tmp_path / "dumps").mkdir()
    (tmp_path / "dumps" / "broken.sql").write_text(BROKEN)
    questions = write_questions(tmp_path / "q.jsonl", [{"db_id": "broken", "question": "?", "tables": ["t"]}])
    out = tmp_path / "out"
    result = run_convert("ddl", "--ddl-dir", tmp_path / "dumps", "--dialect", "mysql", "--questions", questions, "--out", out)
    assert result.exit_code == 2
    assert "broken.sql, line 8: statement 3 (CREATE TABLE `t`)" in result.output
    assert not (out / "dataset_info.json").exists()


def test_a_table_defined_twice_and_a_file_without_tables_are_errors():
    with pytest.raises(InputError, match=r"x.sql, line 2: statement 2 .*already defined by statement 1"):
        parse_schema_dump("CREATE TABLE a (id int);\nCREATE TABLE A (id int);", "postgres", "x", "x.sql")
    with pytest.raises(InputError, match="no CREATE TABLE statement"):
        parse_schema_dump("SET statement_timeout = 0;\nCREATE VIEW v AS SELECT 1;", "postgres", "x", "x.sql")
    with pytest.raises(InputError, match="x.sql, line 2: the dump ends inside a quoted string"):
        parse_schema_dump("SET a = 1;\nCREATE TABLE t (id int DEFAULT 'oops);", "postgres", "x", "x.sql")


# ------------------------------------------------------------------------------------------ gold tables


def test_gold_tables_from_mysql_sql(mysql_db):
    sql = ("SELECT `c`.`full_name`, SUM(`oi`.`quantity`) FROM `customers` AS `c` JOIN shop.`orders` o ON o.customer_id = c.id "
           "JOIN `order_items` `oi` ON `oi`.`order_id` = `o`.`id` GROUP BY `c`.`id` ORDER BY 2 DESC LIMIT 1, 2")
    assert gold_tables(sql, mysql_db, "mysql") == ["customers", "order_items", "orders"]
    with pytest.raises(GoldTableError, match="not in database 'shop': invoices"):
        gold_tables("SELECT * FROM `invoices` LIMIT 1, 2", mysql_db, "mysql")


def test_gold_tables_from_postgres_sql(pg_db):
    sql = """WITH recent AS (
      SELECT o.id, o.customer_id FROM public.orders o WHERE o.placed_at::date > now()::date - 30
    )
    SELECT c.email, count(*)::int AS n FROM public.customers c JOIN recent r ON r.customer_id = c.id
    WHERE c.full_name ILIKE '%smith%' AND r.id IN (SELECT order_id FROM shipments s WHERE s.carrier ~* 'dhl')
    GROUP BY c.email"""
    assert gold_tables(sql, pg_db, "postgres") == ["customers", "orders", "shipments"]
    with pytest.raises(GoldTableError, match="not in database 'shop': public.order_totals"):
        gold_tables("SELECT * FROM public.order_totals", pg_db, "postgres")  # a view: not a table


def test_example_gold_tables_given_or_read_from_the_sql_in_its_dialect(tmp_path, pg_db):
    data = load_ddl_dir(
        PG_DUMP.parent,
        write_questions(tmp_path / "q.jsonl", [
            {"db_id": "shop", "question": "Emails of customers?", "sql": "SELECT email FROM public.customers WHERE email ILIKE '%@x.org'"},
            {"db_id": "shop", "question": "What sells?", "tables": ["ORDER_ITEMS", "Products"]},
        ]),
        "postgres",
    )
    from_sql, given = data.examples
    assert (from_sql.gold_tables, from_sql.dialect) == (None, "postgres")
    assert example_gold_tables(from_sql, pg_db) == ["customers"]
    assert (given.sql, given.gold_tables) == ("", ("order_items", "products"))  # schema's spelling and order
    assert example_gold_tables(given, pg_db) == ["order_items", "products"]
    with pytest.raises(GoldTableError, match="gold table.* not in database 'shop': refunds"):
        example_gold_tables(replace(given, gold_tables=("orders", "refunds")), pg_db)


# ------------------------------------------------------------------------------------------ the source


def test_load_ddl_dir_reads_every_dump_and_skips_records_without_gold(tmp_path):
    questions = write_questions(tmp_path / "q.jsonl", [
        {"db_id": "shop", "question": "How many orders?", "sql": "SELECT count(*) FROM `orders`", "evidence": "all time"},
        {"db_id": "shop", "question": "Which products?", "tables": ["products"]},
        {"db_id": "shop", "question": "No gold at all"},
        {"db_id": "shop", "question": "Unknown table", "tables": ["products", "refunds"]},
        {"db_id": "shop", "question": "Bad tables", "tables": "products"},
        {"db_id": "crm", "question": "No such dump", "sql": "SELECT 1 FROM t"},
    ])
    data = load_ddl_dir(MYSQL_DUMP.parent, questions, "mysql")
    assert SOURCES["ddl"] is load_ddl_dir
    assert (data.name, data.dialect, data.executable, data.db_root) == ("ddl", "mysql", False, None)
    assert list(data.databases) == ["shop"]
    assert [(e.question, e.sql, e.gold_tables, e.evidence) for e in data.examples] == [
        ("How many orders?", "SELECT count(*) FROM `orders`", None, "all time"),
        ("Which products?", "", ("products",), ""),
    ]
    assert all(e.dialect == "mysql" for e in data.examples)
    assert [(s.record, s.reason) for s in data.skipped] == [
        ("line 3", "neither sql nor tables: no gold tables"),
        ("line 4", "tables not in database 'shop': refunds"),
        ("line 5", "tables is not a non-empty list of table names"),
        ("line 6", f"db_id 'crm' has no crm.sql in {MYSQL_DUMP.parent}"),
    ]
    assert data.notes[0] == "ddl (mysql): 1 database, 5 tables, 5 foreign-key columns, 2 column descriptions; 1 view skipped"


def test_unknown_dialect_and_missing_folder_are_input_errors(tmp_path):
    questions = write_questions(tmp_path / "q.jsonl", [])
    with pytest.raises(InputError, match="unknown SQL dialect 'mysqll'"):
        load_ddl_dir(MYSQL_DUMP.parent, questions, "mysqll")
    with pytest.raises(InputError, match="schema dump folder not found"):
        load_ddl_dir(tmp_path / "nowhere", questions, "mysql")


# ------------------------------------------------------------------------------------------ CLI


@pytest.mark.parametrize("dialect", ["mysql", "postgres"])
def test_cli_ddl_writes_a_dataset(tmp_path, dialect):
    sql = {
        "mysql": "SELECT `name` FROM `products` ORDER BY `price` DESC LIMIT 1, 2",
        "postgres": "SELECT name FROM public.products WHERE name ILIKE 'a%' AND price::int > 3",
    }[dialect]
    questions = write_questions(tmp_path / "q.jsonl", [
        {"db_id": "shop", "question": "The second and third dearest products?", "sql": sql},
        {"db_id": "shop", "question": "Who ordered what?", "tables": ["customers", "orders", "order_items"]},
    ])
    out = tmp_path / "out"
    result = run_convert("ddl", "--ddl-dir", DUMPS / dialect, "--dialect", dialect, "--questions", questions,
                         "--out", out, "--tables-per-slice", "2")
    assert result.exit_code == 0, result.output
    info = json.loads((out / "dataset_info.json").read_text())
    assert info
    kept = [json.loads(line) for line in (out / "questions.jsonl").read_text().splitlines()]
    assert [q["gold_tables"] for q in kept] == [["products"], ["customers", "order_items", "orders"]]
