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


def family_key(table: Table) -> tuple[str, tuple[tuple[str, str], ...]] | None:
    """(name prefix, columns) shared by the members of a family, or None for a name without a numeric suffix."""
    m = _SUFFIX.match(table.name)
    if not m:
        return None
    return m.group(1).lower(), tuple((c.name.lower(), c.type.lower()) for c in table.columns)


def fold_families(db: Database, enabled: bool = True) -> FamilyFold:
    """Fold ``db``'s families (see the module docstring); with ``enabled=False`` nothing is folded."""
    if not enabled:
        return FamilyFold(db, {}, [])
    groups: dict[tuple, list[Table]] = defaultdict(list)
    for t in db.tables:
        key = family_key(t)
        if key is not None:
            groups[key].append(t)
    family_of: dict[str, str] = {}
    entry_at: dict[str, Table] = {}  # first member (lower) -> family entry
    families: list[Table] = []
    taken = {t.name.lower() for t in db.tables}
    for members in groups.values():
        if len(members) < 2:
            continue
        first = members[0]
        prefix = _SUFFIX.match(first.name).group(1)  # type: ignore[union-attr]
        name = prefix + FAMILY_WILDCARD
        if name.lower() in taken:  # a real table of that name: leave the members alone
            continue
        taken.add(name.lower())
        ordered = sorted((t.name for t in members), key=_suffix_order)
        entry = Table(
            name=name,
            columns=list(first.columns),
            primary_key=list(first.primary_key),
            foreign_keys=list(first.foreign_keys),
            description=first.description,
            members=tuple(ordered),
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
