"""Table families: tables with identical columns whose names differ only in a date or number suffix.

Spider 2.0's ``ga_sessions_20160801`` ... ``ga_sessions_20170801`` (366 daily tables) or
``inpatient_charges_2011`` ... ``_2015`` are one table to a reader of the schema.  Folding them into
one *family* entry, named by the member pattern (``ga_sessions_*``, BigQuery's wildcard form), makes
the schema a schema-link model reads hundreds of times shorter, and a question about any member
links the family.  Members must share column names and types exactly, in order; a name's suffix is
its trailing run of digits (after an optional ``_`` or ``-``); at least two members make a family.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from lrsql_plugin.schema.model import Database, Table

_SUFFIX = re.compile(r"^(.*?[^\d])(\d+)$")
FAMILY_WILDCARD = "*"
SHARED_COLUMNS = 0.9


@dataclass
class FamilyFold:
    """``database`` is the schema with each family replaced by one entry (at its first member's place)."""

    database: Database
    family_of: dict[str, str]  # member name (lower) -> family name
    families: list[Table]

    def fold_names(self, names: list[str]) -> list[str]:
        """Table names with members replaced by their family (first occurrence kept, order kept)."""
        out: dict[str, str] = {}
        for n in names:
            f = self.family_of.get(n.lower(), n)
            out.setdefault(f.lower(), f)
        return list(out.values())

    def members(self, name: str) -> list[str]:
        """The schema tables a folded name stands for (itself when it is not a family)."""
        t = self.database.table(name)
        return list(t.members) if t is not None and t.members else [name]


def name_prefix(table: Table) -> str | None:
    """The name without its numeric suffix (lower case), or None for a name without one."""
    m = _SUFFIX.match(table.name)
    return m.group(1).lower() if m else None


def _columns(table: Table) -> tuple[tuple[str, str], ...]:
    return tuple((c.name.lower(), c.type.lower()) for c in table.columns)


def _joins(first: set, other: set) -> bool:
    union = first | other
    return bool(union) and len(first & other) / len(union) >= SHARED_COLUMNS


def fold_families(db: Database, enabled: bool = True) -> FamilyFold:
    """Fold ``db``'s families (see the module docstring); with ``enabled=False`` nothing is folded."""
    if not enabled:
        return FamilyFold(db, {}, [])
    by_prefix: dict[str, list[list[Table]]] = defaultdict(list)  # prefix -> groups (first member decides)
    for t in db.tables:
        prefix = name_prefix(t)
        if prefix is None:
            continue
        cols = set(_columns(t))
        for group in by_prefix[prefix]:
            if _joins(set(_columns(group[0])), cols):
                group.append(t)
                break
        else:
            by_prefix[prefix].append([t])
    family_of: dict[str, str] = {}
    entry_at: dict[str, Table] = {}  # first member (lower) -> family entry
    families: list[Table] = []
    taken = {t.name.lower() for t in db.tables}
    for groups in by_prefix.values():
        for members in groups:
            if len(members) < 2:
                continue
            first = members[0]
            name = _SUFFIX.match(first.name).group(1) + FAMILY_WILDCARD  # type: ignore[union-attr]
            if name.lower() in taken:  # a real table, or an earlier group of this prefix, has that name
                continue
            taken.add(name.lower())
            columns, seen = [], set()
            for t in members:
                for c in t.columns:
                    if (c.name.lower(), c.type.lower()) not in seen:
                        seen.add((c.name.lower(), c.type.lower()))
                        columns.append(c)
            entry = Table(
                name=name,
                columns=columns,
                primary_key=list(first.primary_key),
                foreign_keys=list(first.foreign_keys),
                description=first.description,
                members=tuple(sorted((t.name for t in members), key=_suffix_order)),
            )
            families.append(entry)
            entry_at[first.name.lower()] = entry
            for t in members:
                family_of[t.name.lower()] = name
    if not families:
        return FamilyFold(db, {}, [])
    tables = []
    for t in db.tables:
        if t.name.lower() in entry_at:
            tables.append(entry_at[t.name.lower()])
        elif t.name.lower() not in family_of:
            tables.append(t)
    return FamilyFold(Database(db.db_id, tables, list(db.sqlite_paths)), family_of, families)


def _suffix_order(name: str) -> tuple[str, int]:
    m = _SUFFIX.match(name)
    return (m.group(1).lower(), int(m.group(2))) if m else (name.lower(), -1)
