"""Read schemas in Spider's ``tables.json`` format (Spider, Spider-DK and BIRD share it)."""

from __future__ import annotations

from pathlib import Path

from lrsql_plugin.errors import InputError
from lrsql_plugin.files import parse_json, read_utf8
from lrsql_plugin.schema.model import Column, Database, ForeignKey, Table


def load_tables_json(path: str | Path) -> dict[str, Database]:
    """Parse a ``tables.json`` into ``{db_id: Database}``; raises InputError naming the record."""
    path = Path(path)
    records = parse_json(path, read_utf8(path))
    if not isinstance(records, list):
        raise InputError(str(path), "expected a JSON list of database schemas")
    out: dict[str, Database] = {}
    for i, rec in enumerate(records):
        db = _database_from_record(path, i, rec)
        if db.db_id in out:
            raise InputError(str(path), f"db_id {db.db_id!r} appears twice", record=i + 1)
        out[db.db_id] = db
    return out


def _database_from_record(path: Path, i: int, rec: object) -> Database:
    def fail(reason: str) -> InputError:
        db = rec.get("db_id") if isinstance(rec, dict) else None
        return InputError(str(path), reason, record=f"{i + 1} (db_id {db!r})" if db else i + 1)

    if not isinstance(rec, dict):
        raise fail("expected an object")
    for key in ("db_id", "table_names_original", "column_names_original", "column_types"):
        if key not in rec:
            raise fail(f"missing key {key!r}")
    tnames, cols, ctypes = rec["table_names_original"], rec["column_names_original"], rec["column_types"]
    if not isinstance(rec["db_id"], str) or not rec["db_id"]:
        raise fail("'db_id' must be a non-empty string")
    for key, value in (("table_names_original", tnames), ("column_names_original", cols), ("column_types", ctypes)):
        if not isinstance(value, list):
            raise fail(f"{key!r} must be a list")
    if not all(isinstance(t, str) for t in tnames):
        raise fail("'table_names_original' must hold strings")
    if not all(isinstance(c, list) and len(c) == 2 and type(c[0]) is int and isinstance(c[1], str) for c in cols):
        raise fail("'column_names_original' must hold [table_index, name] pairs")
    if not all(isinstance(t, str) for t in ctypes):
        raise fail("'column_types' must hold strings")
    if len(cols) != len(ctypes):
        raise fail("column_names_original and column_types differ in length")
    try:
        columns: list[list[Column]] = [[] for _ in tnames]
        col_ref: dict[int, tuple[int, str]] = {}
        for ci, ((ti, cname), ctype) in enumerate(zip(cols, ctypes)):
            if ti == -1:
                continue
            if ti < 0:
                raise IndexError(f"column {ci} has table index {ti}")
            columns[ti].append(Column(name=cname, type=ctype))
            col_ref[ci] = (ti, cname)
        pks: list[list[str]] = [[] for _ in tnames]
        for pk in rec.get("primary_keys", []):
            for ci in pk if isinstance(pk, list) else [pk]:
                if type(ci) is not int:
                    raise TypeError(f"primary key column {ci!r} is not an index")
                ti, cname = col_ref[ci]
                pks[ti].append(cname)
        fks: list[list[ForeignKey]] = [[] for _ in tnames]
        for src, dst in rec.get("foreign_keys", []):
            if type(src) is not int or type(dst) is not int:
                raise TypeError(f"foreign key [{src!r}, {dst!r}] does not hold column indexes")
            sti, scol = col_ref[src]
            dti, dcol = col_ref[dst]
            fk = ForeignKey(column=scol, ref_table=tnames[dti], ref_column=dcol)
            if fk not in fks[sti]:
                fks[sti].append(fk)
    except (IndexError, KeyError, TypeError, ValueError) as e:
        raise fail(f"inconsistent column/key indexes ({type(e).__name__}: {e})") from e
    tables = [
        Table(name=n, columns=columns[k], primary_key=pks[k], foreign_keys=fks[k])
        for k, n in enumerate(tnames)
        if not n.lower().startswith("sqlite_")  # SQLite's internal tables (sqlite_sequence) are not schema
    ]
    try:
        return Database(db_id=rec["db_id"], tables=tables)
    except ValueError as e:
        raise fail(str(e)) from e


def find_sqlite_files(db_root: str | Path, db_id: str) -> list[Path]:
    """All ``.sqlite`` files of ``db_root/db_id/`` (test-suite folders hold several), sorted."""
    folder = Path(db_root) / db_id
    return sorted(folder.glob("*.sqlite")) if folder.is_dir() else []
