"""Which tables a gold SQL query reads (SPEC §3.2).

Parsed with sqlglot in the SQLite dialect unless another is named (``parse_sql(sql, dialect)``;
an example carries its own in ``Example.dialect``).  Every table reference in the whole tree counts —
subqueries, set operations and CTE bodies included — while a name bound by a ``WITH`` is not a
table *where that WITH is in scope*: in the query it is attached to (all branches of a set
operation when it heads one) and in the bodies of its CTEs.  Elsewhere the same name is the real
table, so ``WITH singer AS (SELECT * FROM singer WHERE ...) SELECT count(*) FROM singer`` reads
``singer`` (the body's own name means the outer table unless the WITH is RECURSIVE or the body is
a compound SELECT, SQLite's recursive form), and a CTE inside one branch of a UNION does not hide
the table of that name in the other branch.  Nested WITHs stack.  Aliases never matter because
sqlglot keeps the real name on each ``exp.Table``.
Names are matched to the schema case-insensitively and returned in the schema's spelling and
order.  A schema-qualified reference (``public.orders``, ``shop.orders``, BigQuery's
``project.dataset.orders``) is the table of that qualified name when the schema has one (a schema
dump keeps ``audit.orders`` qualified when ``orders`` is also a table), else the table of the bare
name.  A query that does not parse, or that names a table the schema lacks, raises
``GoldTableError``: it is reported and skipped by callers, never guessed.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from lrsql_plugin.schema.model import Database, Example


class GoldTableError(ValueError):
    """The gold SQL does not parse or does not fit the schema."""


def parse_sql(sql: str, dialect: str = "sqlite") -> exp.Expression:
    """Parse one statement in ``dialect`` (sqlglot's name); raise GoldTableError with sqlglot's reason."""
    try:
        statements = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
    except SqlglotError as e:
        raise GoldTableError(f"SQL does not parse: {str(e).splitlines()[0]}") from e
    except ValueError as e:  # an unknown dialect name
        raise GoldTableError(f"SQL cannot be read: {str(e).splitlines()[0]}") from e
    if len(statements) != 1:
        raise GoldTableError(f"expected one SQL statement, found {len(statements)}")
    return statements[0]


def parse_sqlite(sql: str) -> exp.Expression:
    """Parse one SQLite statement; raise GoldTableError with sqlglot's reason."""
    return parse_sql(sql, "sqlite")


def referenced_table_names(tree: exp.Expression) -> list[str]:
    """Names of the tables a parsed query reads, in order of first appearance; names bound by a
    WITH in scope are CTEs, not tables (see the module docstring)."""
    names: dict[str, str] = {}
    for table in _referenced_tables(tree):
        names.setdefault(table.name.lower(), table.name)
    return list(names.values())


def _referenced_tables(tree: exp.Expression) -> list[exp.Table]:
    """The real-table references of a parsed query, one per qualified name, in order of first appearance."""
    seen: dict[str, exp.Table] = {}
    _collect_tables(tree, frozenset(), seen)
    return list(seen.values())


def _qualified_parts(table: exp.Table) -> list[str]:
    return [p for p in (table.text("catalog"), table.text("db"), table.name) if p]


def _collect_tables(node: exp.Expression, ctes: frozenset[str], seen: dict[str, exp.Table]) -> None:
    """Walk ``node`` with ``ctes`` the lower-cased CTE names in scope, recording real table references."""
    if isinstance(node, exp.Table):
        name = node.name
        if name and not (name.lower() in ctes and not node.args.get("db")):
            seen.setdefault(".".join(_qualified_parts(node)).lower(), node)
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


def _resolve(table: exp.Table, database: Database) -> str | None:
    """The schema's name for a reference: the longest qualified spelling the schema has, else None."""
    parts = _qualified_parts(table)
    for k in range(len(parts)):
        if (found := database.canonical(".".join(parts[k:]))) is not None:
            return found
    return None


def gold_tables(sql: str, database: Database, dialect: str = "sqlite") -> list[str]:
    """The schema's tables that ``sql`` (written in ``dialect``) reads, in schema order."""
    tables = _referenced_tables(parse_sql(sql, dialect))
    names: list[str] = []
    unknown: list[str] = []
    for table in tables:
        found = _resolve(table, database)
        if found is None:
            spelled = ".".join(_qualified_parts(table)) if table.args.get("db") else table.name
            if spelled.lower() not in {u.lower() for u in unknown}:
                unknown.append(spelled)
        else:
            names.append(found)
    if unknown:
        raise GoldTableError(f"SQL names table(s) not in database {database.db_id!r}: {', '.join(unknown)}")
    if not names:
        raise GoldTableError("SQL reads no table")
    return [t.name for t in database.subset(names)]


def example_gold_tables(example: Example, database: Database) -> list[str]:
    """The example's gold tables: those it gives (``Example.gold_tables``) in the schema's spelling and
    order, else the tables its SQL reads, parsed in its dialect."""
    if example.gold_tables is None:
        return gold_tables(example.sql, database, example.dialect)
    unknown = [n for n in example.gold_tables if database.canonical(n) is None]
    if unknown:
        raise GoldTableError(f"gold table(s) not in database {database.db_id!r}: {', '.join(unknown)}")
    if not example.gold_tables:
        raise GoldTableError("no gold tables given")
    return [t.name for t in database.subset(list(example.gold_tables))]
