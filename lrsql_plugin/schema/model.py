"""Plain data classes for databases, tables and examples.

Sources (Spider, BIRD, any SQLite, Spider 2.0, schema dumps) build these; slicing, serialization,
sample builders and the evaluator only ever read them.  Names keep the database's own spelling;
lookups are case-insensitive because SQLite identifiers are.

A column's description travels with the column (``Column.description``), a table's with the table.
The link view of a database (``lrsql_plugin.context.units``) adds two kinds of *link units* that are
tables too: a **part** of a table wider than a slice (``part``/``parts`` set, ``origin`` the table)
and a **family** of tables with identical columns whose names differ only in a date or number
suffix (``members`` set).  ``shown`` is the name a prompt shows and an answer gives.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Column:
    name: str
    type: str = ""
    description: str = ""
    samples: tuple[str, ...] = ()


@dataclass(frozen=True)
class ForeignKey:
    """``column`` of the owning table references ``ref_table.ref_column``."""

    column: str
    ref_table: str
    ref_column: str


@dataclass
class Table:
    name: str
    columns: list[Column]
    primary_key: list[str] = field(default_factory=list)
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    description: str = ""
    # Link units only (see the module docstring): the shown name when it is not ``name``, the table a
    # part or family stands for, the 1-based part number and count, and a family's member tables.
    label: str = ""
    origin: str = ""
    part: int = 0
    parts: int = 0
    members: tuple[str, ...] = ()

    @property
    def shown(self) -> str:
        """The name prompts show and answers give (a part shows its table's name)."""
        return self.label or self.name

    @property
    def source(self) -> str:
        """The table (or family) this unit stands for: ``origin`` for a part, else its own name."""
        return self.origin or self.name

    def column(self, name: str) -> Column | None:
        low = name.lower()
        return next((c for c in self.columns if c.name.lower() == low), None)


@dataclass
class Database:
    db_id: str
    tables: list[Table]
    sqlite_paths: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._by_lower = {t.name.lower(): t for t in self.tables}
        if len(self._by_lower) != len(self.tables):
            raise ValueError(f"database {self.db_id!r} has two tables whose names differ only in case")

    @property
    def table_names(self) -> list[str]:
        return [t.name for t in self.tables]

    def table(self, name: str) -> Table | None:
        return self._by_lower.get(name.lower())

    def canonical(self, name: str) -> str | None:
        """The schema's spelling of a table name matched case-insensitively, or None."""
        t = self._by_lower.get(name.lower())
        return t.name if t else None

    def subset(self, names: list[str]) -> list[Table]:
        """Tables in schema order whose names are in ``names`` (case-insensitive)."""
        wanted = {n.lower() for n in names}
        return [t for t in self.tables if t.name.lower() in wanted]


@dataclass(frozen=True)
class Example:
    """One question with its gold SQL, or with gold tables given directly (then ``sql`` may be empty).

    ``gold_tables`` (names as the schema spells them, matched case-insensitively) is set when the
    source gives them (Spider 2.0, a ``tables`` field); otherwise they are read from ``sql``.
    """

    db_id: str
    question: str
    sql: str
    source_file: str = ""
    index: int = 0
    evidence: str = ""
    difficulty: str = ""
    question_id: str = ""
    gold_tables: tuple[str, ...] | None = None
    dialect: str = "sqlite"  # the dialect ``sql`` is written in (sqlglot's name)
