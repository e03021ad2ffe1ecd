"""Link units: what one slice position of the schema-link model holds.

A database's *link view* turns its tables into link units in two steps:

1. families are folded (``families.fold_families``): the members of a family become one entry;
2. a table whose rendered DDL exceeds the slice token budget is split into **column parts**.  Each
   part is a valid ``CREATE TABLE`` fragment of the table: it repeats the table's name and its key
   and foreign-key columns, says which part it is (``-- part 2 of 5 of table t``) and holds a run of
   the other columns in schema order, packed so that the part fits the budget.  If a table's keys
   alone exceed the budget, nothing can fit: ``WideTableError`` names the table (exit 2).

A part is a ``Table`` with ``origin`` (its table), ``part``/``parts`` and ``label`` (the table's
name: prompts show it, answers give it).  Answering the table's name on a part links that part; a
table is linked when any of its parts is.  Stage 2 (SQL generation) sees a split table through the
columns of its linked parts plus its keys (``narrow_table``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from lrsql_plugin.context.families import FamilyFold, fold_families
from lrsql_plugin.errors import LrsqlError
from lrsql_plugin.schema.model import Column, Database, Table

# Room kept in each part for what the packing estimate may miss (the part numbers, token merges).
PART_MARGIN = 8


class WideTableError(LrsqlError):
    """A table's key columns alone exceed the slice budget."""

    def __init__(self, table: str, tokens: int, budget: int) -> None:
        self.table, self.tokens, self.budget = table, tokens, budget
        super().__init__(
            f"table {table!r}: its key and foreign-key columns alone take {tokens} tokens, more than the "
            f"slice budget of {budget} (--tokens-per-slice)"
        )

    def __str__(self) -> str:
        return self.args[0]


def part_name(table: str, part: int, parts: int) -> str:
    """The unit name of one part (internal: prompts and answers use the table's name)."""
    return f"{table} [part {part}/{parts}]"


def key_columns(table: Table) -> list[str]:
    """Primary-key and foreign-key columns, in the table's column order."""
    keys = {c.lower() for c in table.primary_key} | {fk.column.lower() for fk in table.foreign_keys}
    return [c.name for c in table.columns if c.name.lower() in keys]


def narrow_table(table: Table, columns: Iterable[str]) -> Table:
    """``table`` with only its key columns and ``columns`` (schema order); keys and FKs kept."""
    keep = {c.lower() for c in columns} | {c.lower() for c in key_columns(table)}
    return replace(table, columns=[c for c in table.columns if c.name.lower() in keep])


def split_table(
    table: Table,
    budget: int,
    cost: Callable[[Table], int],
    line_costs: Callable[[Table], list[int] | None] | None = None,
) -> list[Table]:
    """``table`` as parts that each cost at most ``budget`` tokens (see the module docstring).

    Columns are packed by their line's cost (``line_costs(table)``: one count per non-key column,
    in order, from one rendering of the whole table; else measured one part per column), then each
    part is checked exactly with ``cost``; a part over budget passes its trailing columns on.
    """
    key_low = {k.lower() for k in key_columns(table)}
    rest = [c for c in table.columns if c.name.lower() not in key_low]

    def part(cols: list[Column], k: int, n: int) -> Table:
        order = {c.name.lower() for c in cols} | key_low
        return replace(
            table,
            name=part_name(table.name, k, n),
            columns=[c for c in table.columns if c.name.lower() in order],
            label=table.shown,
            origin=table.name,
            part=k,
            parts=n,
            members=table.members,
        )

    probe = 99  # two-digit part numbers while estimating; the exact check below uses the real ones
    base = cost(part([], probe, probe))
    if base > budget:
        raise WideTableError(table.shown, base, budget)
    line = line_costs(table) if line_costs else None
    if line is None or len(line) != len(rest):
        line = [max(1, cost(part([c], probe, probe)) - base) for c in rest]
    price = {c.name.lower(): n for c, n in zip(rest, line)}
    groups: list[list[Column]] = []
    cur: list[Column] = []
    used = base + PART_MARGIN
    for c, n in zip(rest, line):
        if cur and used + n > budget:
            groups.append(cur)
            cur, used = [], base + PART_MARGIN
        cur.append(c)
        used += n
    if cur or not groups:
        groups.append(cur)
    # exact check: a part over budget passes enough trailing columns on to cover the excess
    while True:
        n = len(groups)
        parts = [part(g, k + 1, n) for k, g in enumerate(groups)]
        over = [(k, c - budget) for k, p in enumerate(parts) if (c := cost(p)) > budget]
        if not over:
            return parts
        k, excess = over[0]
        g = groups[k]
        if len(g) <= 1:  # one column with the keys is over budget: the column alone is too wide
            raise WideTableError(f"{table.shown}.{g[0].name if g else ''}", cost(parts[k]), budget)
        moved: list[Column] = []
        while len(g) > 1 and excess > 0:
            c = g.pop()
            moved.insert(0, c)
            excess -= price[c.name.lower()]
        if k + 1 < len(groups):
            groups[k + 1][:0] = moved
        else:
            groups.append(moved)


@dataclass
class LinkView:
    """The link units of one schema (see the module docstring)."""

    schema: Database  # the schema as read (own database or pseudo-database)
    fold: FamilyFold  # families folded: the table identity of linking metrics
    units: Database  # link units: folded tables, wide ones replaced by their parts
    budget: int | None
    split: dict[str, list[Table]] = field(default_factory=dict)  # folded name (lower) -> its parts

    @property
    def folded(self) -> Database:
        return self.fold.database

    def expand(self, components: list[list[str]]) -> list[list[str]]:
        """Components of schema table names as components of unit names (families once, parts in order)."""
        out, seen = [], set()
        for comp in components:
            units = []
            for name in comp:
                folded = self.fold.family_of.get(name.lower(), name)
                if folded.lower() in seen:
                    continue
                seen.add(folded.lower())
                parts = self.split.get(folded.lower())
                units += [p.name for p in parts] if parts else [self.folded.canonical(folded) or folded]
            if units:
                out.append(units)
        return out

    def unit_source(self, unit: str) -> str:
        """The folded table a unit stands for."""
        t = self.units.table(unit)
        return t.source if t is not None else unit

    def gold_units(self, gold: list[str], gold_columns: dict[str, set[str]] | None = None) -> list[str]:
        """Unit names that are gold for schema tables ``gold``.

        A part is gold when the gold SQL uses one of its non-key columns (``gold_columns``: table lower
        -> column names lower); every part of a gold table when the columns are unknown (no SQL); the
        first part when the SQL reads only the table's keys (every part holds them).
        """
        out = []
        columns = {self.fold.family_of.get(t.lower(), t).lower(): cols for t, cols in (gold_columns or {}).items()}
        for name in self.fold.fold_names(gold):
            parts = self.split.get(name.lower())
            if not parts:
                out.append(self.folded.canonical(name) or name)
                continue
            cols = columns.get(name.lower()) if gold_columns is not None else None
            keys = {k.lower() for k in key_columns(parts[0])}
            hit = [p.name for p in parts if cols and any(c.name.lower() in cols and c.name.lower() not in keys for c in p.columns)]
            if cols is None:
                out += [p.name for p in parts]
            else:  # the SQL reads only the keys (count(*), a join): any part holds them, the first is gold
                out += hit or [parts[0].name]
        return out

    def linked_tables(self, units: list[str]) -> tuple[list[str], dict[str, set[str] | None]]:
        """Linked units as folded tables (in unit order) and, per folded table (lower), the columns
        of its linked parts (None: the whole table)."""
        names: dict[str, str] = {}
        columns: dict[str, set[str] | None] = {}
        for u in units:
            t = self.units.table(u)
            if t is None:
                continue
            src = t.source
            names.setdefault(src.lower(), self.folded.canonical(src) or src)
            if t.parts:
                prev = columns.get(src.lower(), set())
                if prev is not None:
                    columns[src.lower()] = prev | {c.name for c in t.columns}
            else:
                columns[src.lower()] = None
        return list(names.values()), columns


def build_link_view(
    schema: Database,
    budget: int | None,
    cost: Callable[[Table], int] | None = None,
    fold: bool = True,
    line_costs: Callable[[Table], list[int] | None] | None = None,
) -> LinkView:
    """The link view of ``schema``: families folded (``fold``), tables over ``budget`` tokens split.

    ``cost(table)`` counts a table's rendered DDL in tokens (needed with a budget); ``line_costs``
    speeds splitting up (see ``split_table``).
    """
    folding = fold_families(schema, fold)
    folded = folding.database
    split: dict[str, list[Table]] = {}
    units: list[Table] = []
    for t in folded.tables:
        if budget and cost is not None and cost(t) > budget:
            parts = split_table(t, budget, cost, line_costs)
            split[t.name.lower()] = parts
            units += parts
        else:
            units.append(t)
    unit_db = folded if not split else Database(folded.db_id, units, list(folded.sqlite_paths))
    return LinkView(schema, folding, unit_db, budget, split)
