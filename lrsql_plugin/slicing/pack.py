"""Packing ordered tables into consecutive slices under a table and/or token limit.

A foreign-key component goes whole into the current slice when it fits, else whole into a new
slice when it fits there; only a component larger than one slice is split, table by table, in
its breadth-first order.  A single table larger than the token budget gets a slice of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lrsql_plugin.schema.model import Database
from lrsql_plugin.slicing.order import order_tables


@dataclass(frozen=True)
class Slicing:
    """A partition of one database's tables into ordered slices."""

    db_id: str
    slices: tuple[tuple[str, ...], ...]
    label: str  # e.g. "t5" or "t5-o2": limit and order index, for reports and sample metadata

    def slice_of(self, table: str) -> int:
        low = table.lower()
        for i, s in enumerate(self.slices):
            if any(t.lower() == low for t in s):
                return i
        raise KeyError(f"table {table!r} is in no slice of {self.db_id} ({self.label})")


def pack_slices(
    components: list[list[str]],
    max_tables: int | None,
    max_tokens: int | None = None,
    table_tokens: Callable[[str], int] | None = None,
) -> list[list[str]]:
    """Pack component-ordered tables into slices; at least one limit must be given."""
    if not max_tables and not max_tokens:
        raise ValueError("slicing needs a table limit, a token limit, or both")
    if max_tokens and table_tokens is None:
        raise ValueError("a token limit needs a token counter")
    limit_t = max_tables or 10**9
    limit_k = max_tokens or 10**12
    cost = {name: (table_tokens(name) if max_tokens else 0) for comp in components for name in comp}
    slices: list[list[str]] = []
    cur: list[str] = []
    cur_tokens = 0

    def fits(n_tables: int, n_tokens: int, base_tables: int, base_tokens: int) -> bool:
        return base_tables + n_tables <= limit_t and base_tokens + n_tokens <= limit_k

    for comp in components:
        comp_tokens = sum(cost[n] for n in comp)
        if cur and not fits(len(comp), comp_tokens, len(cur), cur_tokens) and fits(len(comp), comp_tokens, 0, 0):
            slices.append(cur)
            cur, cur_tokens = [], 0
        for name in comp:
            if cur and not fits(1, cost[name], len(cur), cur_tokens):
                slices.append(cur)
                cur, cur_tokens = [], 0
            cur.append(name)
            cur_tokens += cost[name]
    if cur:
        slices.append(cur)
    return slices


def slice_database(
    db: Database,
    max_tables: int | None,
    max_tokens: int | None = None,
    table_tokens: Callable[[str], int] | None = None,
    order_seed: int | str | None = None,
    label: str = "",
    components: list[list[str]] | None = None,
) -> Slicing:
    """Slice ``db``: canonical order when ``order_seed`` is None, else a seeded order.

    ``components`` replaces the table order (a pseudo-database orders its tables member by member).
    """
    if components is None:
        components = order_tables(db, order_seed)
    parts = pack_slices(components, max_tables, max_tokens, table_tokens)
    return Slicing(db.db_id, tuple(tuple(s) for s in parts), label or f"t{max_tables or ''}k{max_tokens or ''}")
