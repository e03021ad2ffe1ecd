"""Spider layout: tables.json, train_spider.json + train_others.json / dev.json, database/."""

from __future__ import annotations

from pathlib import Path

from lrsql_plugin.errors import InputError, Skipped
from lrsql_plugin.sources.base import SourceData, register_source
from lrsql_plugin.sources.examples_json import examples_from_records, read_labelled_records
from lrsql_plugin.sources.spider_tables import find_sqlite_files, load_tables_json

SPLIT_FILES = {"train": ["train_spider.json", "train_others.json"], "dev": ["dev.json"]}


@register_source("spider")
def load_spider(
    spider_dir: str | Path,
    split: str = "train",
    questions: list[str | Path] | None = None,
    tables: str | Path | None = None,
) -> SourceData:
    """Read a Spider-layout folder; ``questions`` (file names in ``spider_dir`` or paths) replaces the split's files.

    ``train`` reads ``train_spider.json`` and, when present, ``train_others.json``.
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
    for f in files:
        records, labels = read_labelled_records(f)
        examples += examples_from_records(f, records, databases, "query", skipped, labels=labels)
    db_root = root / "database"
    for db in databases.values():
        db.sqlite_paths = [str(p) for p in find_sqlite_files(db_root, db.db_id)]
    return SourceData("spider", databases, examples, skipped, db_root if db_root.is_dir() else None)
