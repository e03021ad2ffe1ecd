"""Renaming the tables a query reads, on the sqlglot tree (SQLite dialect).

Used to write a gold query against a pseudo-database (``singer`` -> ``concert_singer__singer``)
and to map such a query back.  Only references to real tables are renamed: a CTE name, in the
scope where the CTE is visible, is left alone, even when it shadows a real table.  A renamed table
without an alias gets its old name as alias, so that columns qualified with the old name still
resolve.  A query that needs no renaming is returned unchanged, character for character.
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.scope import traverse_scope

from lrsql_plugin.schema.gold_tables import GoldTableError, parse_sqlite


def rename_tables(sql: str, mapping: dict[str, str]) -> str:
    """``sql`` with every real-table reference renamed by ``mapping`` (old name lower -> new name)."""
    tree = parse_sqlite(sql)
    try:
        scopes = traverse_scope(tree)
    except SqlglotError as e:
        raise GoldTableError(f"cannot resolve the query's scopes: {str(e).splitlines()[0]}") from e
    targets: list[exp.Table] = []
    for scope in scopes:
        for table in scope.tables:
            if table.name in scope.cte_sources:
                continue
            if table.name.lower() in mapping and mapping[table.name.lower()].lower() != table.name.lower():
                targets.append(table)
    if not targets:
        return sql
    for table in targets:
        old = table.name
        if not table.alias:
            table.set("alias", exp.TableAlias(this=exp.to_identifier(old)))
        table.set("this", exp.to_identifier(mapping[old.lower()], quoted=not _plain(mapping[old.lower()])))
    return tree.sql(dialect="sqlite")


def _plain(name: str) -> bool:
    return name.replace("_", "a").isalnum() and not name[0].isdigit()
