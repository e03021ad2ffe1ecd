"""Which columns of each gold table a gold SQL query uses (to tell the gold parts of a wide table).

The query is qualified with sqlglot against the schema (``qualify`` resolves aliases, ``*`` and
unqualified columns to their tables); each column of the qualified query is attributed to the
table its qualifier names in its scope.  A table read without any of its columns (``count(*)``)
gets an empty set.  When qualification fails (a column the schema lacks, a
construct sqlglot cannot qualify), a column name is attributed to every gold table that has it: a
part may then be marked gold needlessly, never missed.  ``*`` (or ``t.*``) uses every column.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import traverse_scope

from lrsql_plugin.schema.model import Database


def gold_columns(sql: str, database: Database, gold: list[str], dialect: str = "sqlite") -> dict[str, set[str]]:
    """``{gold table (lower): {column names (lower)}}`` that ``sql`` uses."""
    tables = [database.table(g) for g in gold]
    tables = [t for t in tables if t is not None]
    out: dict[str, set[str]] = {t.name.lower(): set() for t in tables}
    everything = {t.name.lower(): {c.name.lower() for c in t.columns} for t in tables}
    try:
        tree = sqlglot.parse_one(sql, read=dialect)
    except SqlglotError:
        return everything
    mapping = {t.name: {c.name: "TEXT" for c in t.columns} for t in tables}
    try:
        qualified = qualify(tree.copy(), schema=mapping, dialect=dialect, validate_qualify_columns=False,
                            quote_identifiers=False, identify=False)
        for scope in traverse_scope(qualified):
            for col in scope.columns:
                source = scope.sources.get(col.table)
                if isinstance(source, exp.Table) and source.name.lower() in out:
                    out[source.name.lower()].add(col.name.lower())
            for star in scope.expression.find_all(exp.Star):
                if star.parent is scope.expression or isinstance(star.parent, exp.Column):
                    return everything
    except Exception:  # noqa: BLE001 - sqlglot raises many kinds here; fall back to names
        return _by_name(tree, tables, everything)
    return out


def _by_name(tree: exp.Expression, tables, everything: dict[str, set[str]]) -> dict[str, set[str]]:  # noqa: ANN001
    if any(not isinstance(s.parent, exp.Count) for s in tree.find_all(exp.Star)):
        return everything
    names = {c.name.lower() for c in tree.find_all(exp.Column)}
    return {t.name.lower(): {c.name.lower() for c in t.columns if c.name.lower() in names} for t in tables}
