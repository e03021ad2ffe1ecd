"""BIRD layout: {split}.json (question_id, evidence, SQL, difficulty), {split}_tables.json,
{split}_databases/<db_id>/<db_id>.sqlite with optional database_description/<table>.csv."""

from __future__ import annotations

import csv
from pathlib import Path

from lrsql_plugin.errors import InputError, Skipped
from lrsql_plugin.sources.base import SourceData, register_source
from lrsql_plugin.sources.examples_json import examples_from_records, read_labelled_records
from lrsql_plugin.sources.spider_tables import find_sqlite_files, load_tables_json


@register_source("bird")
def load_bird(bird_dir: str | Path, split: str = "train", questions: str | Path | None = None) -> SourceData:
    root = Path(bird_dir)
    if not root.is_dir():
        raise InputError(str(root), "BIRD folder not found")
    databases = load_tables_json(root / f"{split}_tables.json")
    qfile = Path(questions) if questions else root / f"{split}.json"
    skipped: list[Skipped] = []
    records, labels = read_labelled_records(qfile)
    examples = examples_from_records(qfile, records, databases, "SQL", skipped, labels=labels)
    db_root = root / f"{split}_databases"
    descriptions = {}
    if db_root.is_dir():
        for db_id, db in databases.items():
            db.sqlite_paths = [str(p) for p in find_sqlite_files(db_root, db_id)]
            desc_dir = db_root / db_id / "database_description"
            if desc_dir.is_dir():
                descriptions[db_id] = read_descriptions(desc_dir)
    return SourceData("bird", databases, examples, skipped, db_root if db_root.is_dir() else None, descriptions)


def read_descriptions(desc_dir: Path) -> dict[str, dict[str, str]]:
    """``{table: {column: text}}`` from BIRD's per-table CSVs (column_description, value_description)."""
    out: dict[str, dict[str, str]] = {}
    for path in sorted(desc_dir.glob("*.csv")):
        raw = path.read_bytes()
        for enc in ("utf-8-sig", "latin-1"):  # BIRD ships a few CSVs that are not UTF-8
            try:
                text = raw.decode(enc)
                break
            except UnicodeDecodeError:
                continue
        cols: dict[str, str] = {}
        for row in csv.DictReader(text.splitlines()):
            row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
            name = row.get("original_column_name", "")
            parts = [row.get("column_description", ""), row.get("value_description", "")]
            text_ = "; ".join(p for p in parts if p)
            if name and text_:
                cols[name] = " ".join(text_.split())
        out[path.stem] = cols
    return out
