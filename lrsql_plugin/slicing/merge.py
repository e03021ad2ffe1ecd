"""The paper's pseudo-database: several databases merged into one large schema (SPEC §3.4).

A pseudo-database is a set of member databases.  Its members come in a seeded order, each keeping
its own tables together (in its foreign-key order), so that the tables a question needs can fall at
any slice position.  Table names stay as they are unless two members share a name
(case-insensitively, decided from the members alone); then every table of that name becomes
``<db_id>__<table>``.  Foreign keys keep pointing inside their own member.

Two ways to form them:

- ``--merge-dbs FILE``: exactly the databases listed, one pseudo-database (the paper's sets);
- ``--merge N``: every database of the schema file, shuffled with the seed and cut into groups of
  N (the last may be smaller).  The assignment depends only on the schema file (with the source's
  held-out split, see below) and the seed, never on which questions are converted, so a train and a
  dev conversion share their pseudo-databases.

Held-out databases (Spider's dev databases, named by its ``dev.json``) are few: 20 of 166.  Shuffled
like the others, where they land would be chance, and so would the slice positions an evaluation
ever sees gold at.  ``--merge N`` therefore spreads them: every pseudo-database gets its share, and
their blocks are placed at evenly spaced fractions of the tables (stratified over all
pseudo-databases together, so each twentieth of the positions holds one when there are 20); which
held-out database goes where, and the order of all others, stays seeded.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from lrsql_plugin.errors import InputError
from lrsql_plugin.schema.model import Database, ForeignKey, Table
from lrsql_plugin.slicing.order import order_tables

MERGED_DB_ID = "merged"


@dataclass
class PseudoDatabase:
    """Members in slicing order, the merged schema, and the name maps in both directions."""

    name: str
    members: list[str]
    database: Database
    names: dict[tuple[str, str], str]  # (db_id, table name lower) -> merged table name
    origin: dict[str, tuple[str, str]]  # merged table name lower -> (db_id, table name as in the member)
    collisions: dict[str, list[str]]  # table name lower -> members holding it (only names held by several)

    def to_own(self, merged_names: list[str], db_id: str) -> tuple[list[str], list[str]]:
        """Split linked merged names into (``db_id``'s tables under their own names, names of other members)."""
        own, others = [], []
        for n in merged_names:
            d, original = self.origin.get(n.lower(), (None, n))
            (own if d == db_id else others).append(original if d == db_id else n)
        return own, others

    def to_merged(self, db_id: str, tables: list[str]) -> list[str]:
        return [self.names[(db_id, t.lower())] for t in tables]

    def manifest(self) -> dict:
        """What inference needs to rebuild this pseudo-database from the same schema file."""
        return {
            "name": self.name,
            "members": list(self.members),
            "tables": [[n, *self.origin[n.lower()]] for n in self.database.table_names],
            "collisions": {k: list(v) for k, v in sorted(self.collisions.items())},
        }


def merged_name(db_id: str, table: str, colliding: set[str]) -> str:
    return f"{db_id}__{table}" if table.lower() in colliding else table


def build_pseudo_database(dbs: list[Database], name: str = MERGED_DB_ID) -> PseudoDatabase:
    """Merge ``dbs`` in the given order; only names held by several members are prefixed."""
    holders: dict[str, list[str]] = defaultdict(list)
    for db in dbs:
        for t in db.tables:
            holders[t.name.lower()].append(db.db_id)
    collisions = {n: ds for n, ds in holders.items() if len(ds) > 1}
    colliding = set(collisions)
    names: dict[tuple[str, str], str] = {}
    origin: dict[str, tuple[str, str]] = {}
    tables: list[Table] = []
    for db in dbs:
        for t in db.tables:
            names[(db.db_id, t.name.lower())] = merged_name(db.db_id, t.name, colliding)
        for t in db.tables:
            new = names[(db.db_id, t.name.lower())]
            origin[new.lower()] = (db.db_id, t.name)
            fks = [
                ForeignKey(fk.column, names.get((db.db_id, fk.ref_table.lower()), fk.ref_table), fk.ref_column)
                for fk in t.foreign_keys
            ]
            tables.append(Table(new, t.columns, t.primary_key, fks, t.description))
    if len(origin) != len(tables):  # a prefixed name equal to another member's table name
        clash = [n for n, c in Counter(t.name.lower() for t in tables).items() if c > 1]
        raise InputError(name, f"merged table names collide after prefixing: {', '.join(clash)}")
    return PseudoDatabase(name, [d.db_id for d in dbs], Database(db_id=name, tables=tables), names, origin, collisions)


def seeded_member_order(db_ids: list[str], seed: int | str) -> list[str]:
    """``db_ids`` shuffled reproducibly (the order starts from the sorted ids, so input order never matters)."""
    order = sorted(db_ids)
    random.Random(f"members:{seed}").shuffle(order)
    return order


def assign_pseudo_databases(
    db_ids: list[str],
    size: int,
    seed: int,
    held_out: frozenset[str] | set[str] = frozenset(),
    weights: dict[str, int] | None = None,
) -> list[tuple[str, list[str]]]:
    """Every database in a group of ``size`` (the last may be smaller), members in seeded order.

    ``held_out`` databases are spread evenly over the groups and over the positions inside them (see
    the module docstring); ``weights`` (tables per database, default 1) measures those positions.
    Depends on ``db_ids`` as a set, ``held_out``, ``weights`` and the seed only.
    """
    if size < 1:
        raise ValueError("a pseudo-database needs at least one member")
    spread = sorted(set(held_out) & set(db_ids))
    order = sorted(set(db_ids) - set(spread))
    rng = random.Random(f"assign:{seed}")
    rng.shuffle(order)
    rng.shuffle(spread)
    n = len(order) + len(spread)
    sizes = [min(size, n - i) for i in range(0, n, size)]
    quotas = _shares(len(spread), sizes)
    targets = _stratified_targets(quotas)
    width = len(str(max(len(sizes) - 1, 0)))
    groups, taken_spread, taken = [], 0, 0
    for j, (m, k) in enumerate(zip(sizes, quotas)):
        mine, taken_spread = spread[taken_spread : taken_spread + k], taken_spread + k
        others, taken = order[taken : taken + m - k], taken + m - k
        members = seeded_member_order(others, f"{seed}:{j}")
        if mine:
            members = _place(members, mine, [targets[(j, i)] for i in range(k)], weights or {})
        groups.append((f"{MERGED_DB_ID}_{j:0{width}d}", members))
    return groups


def _shares(total: int, sizes: list[int]) -> list[int]:
    """``total`` split over groups in proportion to ``sizes`` (largest remainders; ties to earlier groups)."""
    n = sum(sizes)
    exact = [total * m / n for m in sizes] if n else []
    shares = [int(x) for x in exact]
    by_remainder = sorted(range(len(sizes)), key=lambda j: (-(exact[j] - shares[j]), j))
    for j in by_remainder[: total - sum(shares)]:
        shares[j] += 1
    return shares


def _stratified_targets(quotas: list[int]) -> dict[tuple[int, int], float]:
    """Target position (0-1) of the i-th held-out member of group j: the K held-out members of all
    groups, ordered by their natural place in their own group, take the centres of K equal strata."""
    natural = sorted(((i + 0.5) / k, j, i) for j, k in enumerate(quotas) for i in range(k))
    return {(j, i): (rank + 0.5) / len(natural) for rank, (_, j, i) in enumerate(natural)}


def _place(others: list[str], held: list[str], targets: list[float], weights: dict[str, int]) -> list[str]:
    """``others`` in order with each ``held[i]`` inserted where its block is centred nearest ``targets[i]``
    (positions measured in ``weights``, 1 per database when absent)."""
    w = {d: weights.get(d, 1) for d in others + held}
    total = sum(w.values())
    out: list[str] = []
    done, i = 0, 0
    for d in [*others, None]:
        while i < len(held) and (d is None or done >= targets[i] * total - w[held[i]] / 2):
            out.append(held[i])
            done += w[held[i]]
            i += 1
        if d is not None:
            out.append(d)
            done += w[d]
    return out


def read_member_list(path: str | Path, known: set[str]) -> list[str]:
    """db_ids of a ``--merge-dbs`` file: one per line, blank lines and ``#`` comments ignored."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise InputError(str(p), "file not found") from e
    except UnicodeDecodeError as e:
        raise InputError(str(p), f"not UTF-8 text (byte {e.start})") from e
    members: list[str] = []
    for line_no, line in enumerate(text.splitlines(), 1):
        db_id = line.split("#", 1)[0].strip()
        if not db_id:
            continue
        if db_id not in known:
            raise InputError(str(p), f"database {db_id!r} is not in the schema file", f"line {line_no}")
        if db_id in members:
            raise InputError(str(p), f"database {db_id!r} is listed twice", f"line {line_no}")
        members.append(db_id)
    if not members:
        raise InputError(str(p), "lists no database")
    return members


def pseudo_components(pseudo: PseudoDatabase, dbs: dict[str, Database], seed: int | str | None) -> list[list[str]]:
    """Foreign-key components of the merged schema, member by member (merged names).

    ``seed=None`` keeps the members' order and each member's canonical component order; a seed
    shuffles the member order and each member's components with derived seeds.
    """
    members = list(pseudo.members)
    if seed is not None:
        random.Random(f"{seed}:members").shuffle(members)
    out: list[list[str]] = []
    for d in members:
        inner = None if seed is None else f"{seed}:{d}"
        for comp in order_tables(dbs[d], inner):
            out.append([pseudo.names[(d, t.lower())] for t in comp])
    return out
