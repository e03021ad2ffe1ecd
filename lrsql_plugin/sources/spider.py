"""Spider layout: tables.json, train_spider.json + train_others.json / dev.json, database/."""

from __future__ import annotations

from pathlib import Path

from lrsql_plugin.errors import InputError, Skipped
from lrsql_plugin.sources.base import SourceData, register_source
from lrsql_plugin.sources.examples_json import examples_from_records, read_labelled_records
from lrsql_plugin.sources.spider_tables import find_sqlite_files, load_tables_json

SPLIT_FILES = {"train": ["train_spider.json", "train_others.json"], "dev": ["dev.json"]}
HELD_OUT_FILE = "dev.json"  # its databases are Spider's held-out split (none of them has train questions)


@register_source("spider")
def load_spider(
    spider_dir: str | Path,
    split: str = "train",
    questions: list[str | Path] | None = None,
    tables: str | Path | None = None,
    *,
    sql_optional: bool = False,
) -> SourceData:
    """Read a Spider-layout folder; ``questions`` (file names in ``spider_dir`` or paths) replaces the split's files.

    ``train`` reads ``train_spider.json`` and, when present, ``train_others.json``.  The databases of
    ``dev.json`` (when present) are the held-out split, whatever questions are read.  ``sql_optional``
    keeps questions without a ``query`` (inference; see ``examples_from_records``).
    """
    root = Path(spider_dir)
    if not root.is_dir():
        raise InputError(str(root), "Spider folder not found")
    databases = load_tables_json(Path(tables) if tables else root / "tables.json")
    if questions:
        files = [q if Path(q).is_absolute() or Path(q).exists() else root / q for q in questions]
        files = [Path(f) for f in files]
    else:
        if split not in SPLIT_FILES:
            raise InputError(str(root), f"unknown split {split!r}; expected one of {', '.join(SPLIT_FILES)}")
        names = SPLIT_FILES[split]
        files = [root / names[0]] + [root / n for n in names[1:] if (root / n).is_file()]
    skipped: list[Skipped] = []
    examples = []
    held_out: frozenset[str] = frozenset()
    for f in files:
        records, labels = read_labelled_records(f)
        examples += examples_from_records(f, records, databases, "query", skipped, labels=labels, sql_optional=sql_optional)
        if f == root / HELD_OUT_FILE:
            held_out = held_out_databases(records, databases)
    if root / HELD_OUT_FILE not in files and (root / HELD_OUT_FILE).is_file():
        held_out = held_out_databases(read_labelled_records(root / HELD_OUT_FILE)[0], databases)
    db_root = root / "database"
    for db in databases.values():
        db.sqlite_paths = [str(p) for p in find_sqlite_files(db_root, db.db_id)]
    return SourceData("spider", databases, examples, skipped, db_root if db_root.is_dir() else None, held_out=held_out)


def held_out_databases(records: list[object], databases: dict) -> frozenset[str]:
    """The known ``db_id`` values of a split's records (malformed records are the question reader's to report)."""
    return frozenset(r["db_id"] for r in records if isinstance(r, dict) and isinstance(r.get("db_id"), str) and r["db_id"] in databases)
