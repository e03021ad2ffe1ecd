"""Which tables a gold SQL query reads (SPEC §3.2).

Parsed with sqlglot in the SQLite dialect.  Every table reference in the whole tree counts —
subqueries, set operations and CTE bodies included — while CTE names themselves are not
tables.  Aliases never matter because sqlglot keeps the real name on each ``exp.Table``.
Names are matched to the schema case-insensitively and returned in the schema's spelling and
order.  A query that does not parse, or that names a table the schema lacks, raises
``GoldTableError``: it is reported and skipped by callers, never guessed.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from lrsql_plugin.schema.model import Database


class GoldTableError(ValueError):
    """The gold SQL does not parse or does not fit the schema."""


def parse_sqlite(sql: str) -> exp.Expression:
    """Parse one SQLite statement; raise GoldTableError with sqlglot's reason."""
    try:
        statements = [s for s in sqlglot.parse(sql, read="sqlite") if s is not None]
    except SqlglotError as e:
        raise GoldTableError(f"SQL does not parse: {str(e).splitlines()[0]}") from e
    if len(statements) != 1:
        raise GoldTableError(f"expected one SQL statement, found {len(statements)}")
    return statements[0]


def referenced_table_names(tree: exp.Expression) -> list[str]:
    """Names of the tables a parsed query reads, in order of first appearance, CTE names excluded."""
    cte_names = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    seen: dict[str, str] = {}
    for table in tree.find_all(exp.Table):
        name = table.name
        if not name or name.lower() in cte_names:
            continue
        seen.setdefault(name.lower(), name)
    return list(seen.values())


def gold_tables(sql: str, database: Database) -> list[str]:
    """The schema's tables that ``sql`` reads, in schema order."""
    names = referenced_table_names(parse_sqlite(sql))
    unknown = [n for n in names if database.canonical(n) is None]
    if unknown:
        raise GoldTableError(f"SQL names table(s) not in database {database.db_id!r}: {', '.join(unknown)}")
    if not names:
        raise GoldTableError("SQL reads no table")
    return [t.name for t in database.subset(names)]
