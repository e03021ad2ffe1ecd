"""Any SQLite: a folder of ``.sqlite`` files plus a JSONL of ``{db_id, question, sql}``.

The schema is introspected from each database (tables, columns, types, primary and foreign
keys).  A database is found as ``<dir>/<db_id>.sqlite`` or ``<dir>/<db_id>/<db_id>.sqlite``.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from lrsql_plugin.errors import InputError, Skipped
from lrsql_plugin.schema.model import Column, Database, ForeignKey, Table
from lrsql_plugin.sources.base import SourceData, register_source
from lrsql_plugin.sources.examples_json import examples_from_records, read_labelled_records


def introspect_sqlite(path: str | Path, db_id: str | None = None) -> Database:
    """Read the schema of one SQLite file through a read-only connection."""
    path = Path(path)
    if not path.is_file():
        raise InputError(str(path), "SQLite file not found")
    try:
        conn = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True)
    except sqlite3.Error as e:
        raise InputError(str(path), f"cannot open database ({e})") from e
    try:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY rowid"
            )
        ]
        tables = []
        for name in names:
            info = conn.execute("SELECT name, type, pk FROM pragma_table_info(?)", (name,)).fetchall()
            columns = [Column(name=c, type=(t or "").lower()) for c, t, _ in info]
            pk = [c for c, _, k in sorted(info, key=lambda r: r[2]) if k > 0]
            fks = []
            for _id, _seq, ref_table, col, ref_col in conn.execute(
                'SELECT id, seq, "table", "from", "to" FROM pragma_foreign_key_list(?) ORDER BY id, seq', (name,)
            ):
                if ref_col is None:  # REFERENCES t without a column means t's primary key
                    ref_pk = conn.execute(
                        "SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk", (ref_table,)
                    ).fetchall()
                    ref_col = ref_pk[0][0] if ref_pk else "rowid"
                fks.append(ForeignKey(column=col, ref_table=ref_table, ref_column=ref_col))
            tables.append(Table(name=name, columns=columns, primary_key=pk, foreign_keys=fks))
    except sqlite3.DatabaseError as e:
        raise InputError(str(path), f"not a readable SQLite database ({e})") from e
    finally:
        conn.close()
    return Database(db_id=db_id or path.stem, tables=tables, sqlite_paths=[str(path)])


def find_database_file(db_dir: Path, db_id: str) -> Path | None:
    for candidate in (db_dir / f"{db_id}.sqlite", db_dir / db_id / f"{db_id}.sqlite"):
        if candidate.is_file():
            return candidate
    return None


@register_source("sqlite")
def load_sqlite_folder(db_dir: str | Path, questions: str | Path, *, sql_optional: bool = False) -> SourceData:
    """``sql_optional`` keeps questions without ``sql`` (inference; see ``examples_from_records``)."""
    db_dir, qfile = Path(db_dir), Path(questions)
    if not db_dir.is_dir():
        raise InputError(str(db_dir), "database folder not found")
    records, labels = read_labelled_records(qfile)
    databases: dict[str, Database] = {}
    for rec in records:
        db_id = rec.get("db_id") if isinstance(rec, dict) else None
        if isinstance(db_id, str) and db_id not in databases and (path := find_database_file(db_dir, db_id)):
            databases[db_id] = introspect_sqlite(path, db_id)
    skipped: list[Skipped] = []
    examples = examples_from_records(
        qfile, records, databases, "sql", skipped, unknown_db=f"db_id {{!r}} has no SQLite file in {db_dir}",
        labels=labels, sql_optional=sql_optional,
    )
    return SourceData("sqlite", databases, examples, skipped, db_dir)
