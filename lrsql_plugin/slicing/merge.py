"""The paper's pseudo-database: many databases merged into one large schema.

Table names stay as they are unless two databases share a name (case-insensitively); then every
table of that name becomes ``<db_id>__<table>``.  Foreign keys keep pointing inside their own
database.
"""

from __future__ import annotations

from collections import Counter

from lrsql_plugin.schema.model import Database, ForeignKey, Table

MERGED_DB_ID = "merged"


def merged_name(db_id: str, table: str, colliding: set[str]) -> str:
    return f"{db_id}__{table}" if table.lower() in colliding else table


def merge_databases(dbs: list[Database], db_id: str = MERGED_DB_ID) -> tuple[Database, dict[tuple[str, str], str]]:
    """The merged database and a map ``(db_id, table name lower) -> merged table name``."""
    counts = Counter(t.name.lower() for db in dbs for t in db.tables)
    colliding = {n for n, c in counts.items() if c > 1}
    names: dict[tuple[str, str], str] = {}
    tables: list[Table] = []
    for db in dbs:
        for t in db.tables:
            names[(db.db_id, t.name.lower())] = merged_name(db.db_id, t.name, colliding)
        for t in db.tables:
            fks = [
                ForeignKey(fk.column, names.get((db.db_id, fk.ref_table.lower()), fk.ref_table), fk.ref_column)
                for fk in t.foreign_keys
            ]
            tables.append(Table(names[(db.db_id, t.name.lower())], t.columns, t.primary_key, fks))
    return Database(db_id=db_id, tables=tables), names
