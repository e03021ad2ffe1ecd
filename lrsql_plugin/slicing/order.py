"""Table order that keeps tables joined by foreign keys together.

Tables are grouped into the connected components of the (undirected) foreign-key graph.  The
canonical order lists components by their first table in schema order and walks each component
breadth-first from that table, neighbours in schema order.  A seeded order shuffles the
component order, the start table and the neighbour order with ``random.Random(seed)``, which is
reproducible across runs and machines.
"""

from __future__ import annotations

import random
from collections import deque

from lrsql_plugin.schema.model import Database


def _adjacency(db: Database) -> dict[str, list[str]]:
    index = {t.name: i for i, t in enumerate(db.tables)}
    adj: dict[str, set[str]] = {t.name: set() for t in db.tables}
    for t in db.tables:
        for fk in t.foreign_keys:
            other = db.canonical(fk.ref_table)
            if other and other != t.name:
                adj[t.name].add(other)
                adj[other].add(t.name)
    return {name: sorted(ns, key=index.__getitem__) for name, ns in adj.items()}


def fk_components(db: Database) -> list[list[str]]:
    """Connected components of the foreign-key graph, each in schema order, ordered by first table."""
    adj = _adjacency(db)
    seen: set[str] = set()
    out = []
    for t in db.tables:
        if t.name in seen:
            continue
        comp, todo = [], [t.name]
        seen.add(t.name)
        while todo:
            cur = todo.pop()
            comp.append(cur)
            for n in adj[cur]:
                if n not in seen:
                    seen.add(n)
                    todo.append(n)
        order = {name: i for i, name in enumerate(db.table_names)}
        out.append(sorted(comp, key=order.__getitem__))
    return out


def order_tables(db: Database, seed: int | str | None = None) -> list[list[str]]:
    """Components in slicing order, each a breadth-first walk; ``seed=None`` is the canonical order."""
    adj = _adjacency(db)
    comps = fk_components(db)
    rng = random.Random(seed) if seed is not None else None
    if rng:
        rng.shuffle(comps)
    ordered = []
    for comp in comps:
        start = rng.choice(comp) if rng else comp[0]
        walk, seen, queue = [], {start}, deque([start])
        while queue:
            cur = queue.popleft()
            walk.append(cur)
            neighbours = list(adj[cur])
            if rng:
                rng.shuffle(neighbours)
            for n in neighbours:
                if n not in seen:
                    seen.add(n)
                    queue.append(n)
        ordered.append(walk)
    return ordered
