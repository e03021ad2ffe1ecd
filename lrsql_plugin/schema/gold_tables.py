"""Which tables a gold SQL query reads (SPEC §3.2).

Parsed with sqlglot in the SQLite dialect.  Every table reference in the whole tree counts —
subqueries, set operations and CTE bodies included — while a name bound by a ``WITH`` is not a
table *where that WITH is in scope*: in the query it is attached to (all branches of a set
operation when it heads one) and in the bodies of its CTEs.  Elsewhere the same name is the real
table, so ``WITH singer AS (SELECT * FROM singer WHERE ...) SELECT count(*) FROM singer`` reads
``singer`` (the body's own name means the outer table unless the WITH is RECURSIVE or the body is
a compound SELECT, SQLite's recursive form), and a CTE inside one branch of a UNION does not hide
the table of that name in the other branch.  Nested WITHs stack.  Aliases never matter because
sqlglot keeps the real name on each ``exp.Table``.
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
    """Names of the tables a parsed query reads, in order of first appearance; names bound by a
    WITH in scope are CTEs, not tables (see the module docstring)."""
    seen: dict[str, str] = {}
    _collect_tables(tree, frozenset(), seen)
    return list(seen.values())


def _collect_tables(node: exp.Expression, ctes: frozenset[str], seen: dict[str, str]) -> None:
    """Walk ``node`` with ``ctes`` the lower-cased CTE names in scope, recording real table names."""
    if isinstance(node, exp.Table):
        name = node.name
        if name and not (name.lower() in ctes and not node.args.get("db")):
            seen.setdefault(name.lower(), name)
        return
    with_ = node.args.get("with_", node.args.get("with"))
    inner = ctes
    if isinstance(with_, exp.With):
        bound = {cte.alias_or_name.lower() for cte in with_.expressions}
        inner = ctes | bound
        for cte in with_.expressions:
            own = cte.alias_or_name.lower()
            recursive = bool(with_.args.get("recursive")) or isinstance(cte.this, exp.SetOperation)
            body_scope = inner if recursive or own in ctes else inner - {own}
            _collect_tables(cte.this, body_scope, seen)
    for key, child in node.args.items():
        if key in ("with", "with_"):
            continue
        for c in child if isinstance(child, list) else [child]:
            if isinstance(c, exp.Expression):
                _collect_tables(c, inner, seen)


def gold_tables(sql: str, database: Database) -> list[str]:
    """The schema's tables that ``sql`` reads, in schema order."""
    names = referenced_table_names(parse_sqlite(sql))
    unknown = [n for n in names if database.canonical(n) is None]
    if unknown:
        raise GoldTableError(f"SQL names table(s) not in database {database.db_id!r}: {', '.join(unknown)}")
    if not names:
        raise GoldTableError("SQL reads no table")
    return [t.name for t in database.subset(names)]
