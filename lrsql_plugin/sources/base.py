"""What every source returns, and the registry of sources by name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lrsql_plugin.errors import Skipped
from lrsql_plugin.schema.model import Database, Example


@dataclass
class SourceData:
    """Schemas, examples and the records skipped while reading them."""

    name: str
    databases: dict[str, Database]
    examples: list[Example]
    skipped: list[Skipped] = field(default_factory=list)
    db_root: Path | None = None  # folder holding <db_id>/<db_id>.sqlite, when databases are present
    descriptions: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)  # db -> table -> col -> text
    # databases of the source's held-out split inside the same schema file (Spider: dev.json's);
    # ``--merge N`` spreads them evenly over pseudo-databases and slice positions
    held_out: frozenset[str] = frozenset()
    # lines for the conversion report about what the source read (e.g. "descriptions: 812 of 830 columns matched")
    notes: list[str] = field(default_factory=list)
    dialect: str = "sqlite"  # the dialect of the source's SQL and DDL (sqlglot's name)
    executable: bool = True  # False where no database file exists (schema dumps, cloud engines)


SOURCES: dict[str, Callable[..., SourceData]] = {}


def register_source(name: str) -> Callable[[Callable[..., SourceData]], Callable[..., SourceData]]:
    """Register a loader under ``name`` (the ``lrsql-convert`` sub-command of the same name)."""

    def deco(fn: Callable[..., SourceData]) -> Callable[..., SourceData]:
        SOURCES[name] = fn
        return fn

    return deco
