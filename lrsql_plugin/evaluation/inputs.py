"""Read what ``lrsql-eval`` evaluates; every problem is an InputError naming the file, the record and the reason.

Accepted formats:

- gold as the official Spider file, ``SQL<TAB>db_id`` per line, or as a JSON list of questions
  (Spider / Spider-DK ``dev.json`` with ``query``, BIRD ``dev.json`` with ``SQL`` and ``difficulty``);
- predictions as the official one-SQL-per-line file (anything after a tab is ignored, as the
  official script does; an empty line is an empty prediction, blank lines past the last gold
  record are ignored) or as BIRD's JSON ``{"0": "SQL\\t----- bird -----\\tdb_id", ...}``;
- our JSONL, one ``{db_id, question, gold, prediction, predicted_tables?, gold_tables?, difficulty?}``
  object per line.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from lrsql_plugin.errors import InputError, where
from lrsql_plugin.files import parse_json, read_utf8
from lrsql_plugin.schema.model import Database
from lrsql_plugin.sources.spider_tables import find_sqlite_files

BIRD_SEPARATOR = "\t----- bird -----\t"


@dataclass(frozen=True)
class EvalItem:
    """One question to score: gold and predicted SQL on one database."""

    db_id: str
    gold: str
    prediction: str
    question: str = ""
    difficulty: str = ""
    predicted_tables: tuple[str, ...] | None = None
    gold_tables: tuple[str, ...] | None = None
    source: str = ""
    record: str = ""  # where in ``source``, as InputError's record: "line 3", "record 1", "key 2"
    prediction_error: str = ""  # why the prediction cannot run (e.g. not UTF-8): scored 0 with this reason
    fallback: bool | None = None  # inference gave the SQL model the full schema (nothing linked); None: not recorded


@dataclass(frozen=True)
class GoldRecord:
    db_id: str
    sql: str
    question: str = ""
    difficulty: str = ""
    record: str = ""


@dataclass(frozen=True)
class Prediction:
    sql: str
    db_id: str | None = None
    record: str = ""
    error: str = ""  # e.g. "not valid UTF-8": the prediction is scored 0 with this reason, the run goes on


def _read_text(path: Path, lenient: bool = False) -> str:
    """UTF-8 text; with ``lenient`` bytes that are not UTF-8 become lone surrogates (see ``utf8_error``)."""
    if not lenient:
        return read_utf8(path)
    if not path.is_file():
        raise InputError(str(path), "file not found" if not path.exists() else "not a regular file")
    try:
        return path.read_bytes().decode("utf-8", errors="surrogateescape")
    except OSError as e:
        raise InputError(str(path), f"cannot read ({e.strerror or e})") from e


def utf8_error(text: str) -> str:
    """Why ``text`` (read with surrogateescape) is not valid UTF-8, or "" when it is."""
    for i, ch in enumerate(text):
        if "\udc80" <= ch <= "\udcff":
            return f"prediction is not valid UTF-8 (byte 0x{ord(ch) - 0xDC00:02x} at character {i + 1})"
    return ""


def _read_json(path: Path, lenient: bool = False) -> object:
    return parse_json(path, _read_text(path, lenient))


def _lines(path: Path, lenient: bool = False) -> list[str]:
    text = _read_text(path, lenient)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.rstrip("\r") for line in lines]


def read_gold(path: str | Path) -> list[GoldRecord]:
    """Gold queries from a ``SQL<TAB>db_id`` text file or a JSON list of questions (by suffix ``.json``)."""
    path = Path(path)
    return _read_gold_json(path) if path.suffix.lower() == ".json" else _read_gold_lines(path)


def _read_gold_lines(path: Path) -> list[GoldRecord]:
    lines = _lines(path)
    while lines and not lines[-1].strip():
        lines.pop()
    records = []
    for n, line in enumerate(lines, start=1):
        sql, tab, db_id = line.strip().rpartition("\t")
        if not tab or not sql.strip() or not db_id.strip():
            raise InputError(str(path), "expected 'SQL<TAB>db_id'", record=f"line {n}")
        records.append(GoldRecord(db_id=db_id.strip(), sql=sql.strip(), record=f"line {n}"))
    return records


def _read_gold_json(path: Path) -> list[GoldRecord]:
    data = _read_json(path)
    if not isinstance(data, list):
        raise InputError(str(path), "expected a JSON list of questions")
    records = []
    for i, rec in enumerate(data):
        where = f"record {i + 1}"
        if not isinstance(rec, dict):
            raise InputError(str(path), "expected an object", record=where)
        sql = rec.get("query", rec.get("SQL"))
        if not isinstance(sql, str) or not isinstance(rec.get("db_id"), str):
            raise InputError(str(path), "needs string fields 'db_id' and 'query' (Spider) or 'SQL' (BIRD)", record=where)
        if "question_id" in rec:
            where += f" (question_id {rec['question_id']})"
        records.append(
            GoldRecord(
                db_id=rec["db_id"],
                sql=sql,
                question=str(rec.get("question", "")),
                difficulty=str(rec.get("difficulty", "")),
                record=where,
            )
        )
    return records


def read_predictions(path: str | Path) -> list[Prediction]:
    """Predictions from a one-SQL-per-line file or BIRD's prediction JSON (by suffix ``.json``)."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        return _read_bird_predictions(path)
    return [_prediction(line.split("\t")[0].strip(), f"line {n}") for n, line in enumerate(_lines(path, lenient=True), 1)]


def _prediction(sql: str, record: str, db_id: str | None = None) -> Prediction:
    """A prediction; one that is not valid UTF-8 keeps an empty SQL and the reason (it is scored 0)."""
    error = utf8_error(sql)
    return Prediction(sql="" if error else sql, db_id=db_id, record=record, error=error)


def _read_bird_predictions(path: Path) -> list[Prediction]:
    data = _read_json(path, lenient=True)
    if not isinstance(data, dict):
        raise InputError(str(path), 'expected a JSON object {"0": "SQL\\t----- bird -----\\tdb_id", ...}')
    predictions = []
    for i in range(len(data)):
        value = data.get(str(i))
        if value is None:
            raise InputError(str(path), f"keys must be 0..{len(data) - 1}; key {i!r} is missing", record=f"key {i}")
        if not isinstance(value, str):
            raise InputError(str(path), "expected a string", record=f"key {i}")
        sql, sep, db_id = value.partition(BIRD_SEPARATOR)
        if sep and utf8_error(db_id):
            raise InputError(str(path), "db_id is not valid UTF-8", record=f"key {i}")
        predictions.append(_prediction(sql.strip(), f"key {i}", db_id.strip() if sep else None))
    return predictions


def pair(gold: Sequence[GoldRecord], gold_file: str | Path, predictions: Sequence[Prediction], pred_file: str | Path) -> list[EvalItem]:
    """Line up gold records and predictions one to one."""
    if not gold:
        raise InputError(str(gold_file), "no gold queries")
    predictions = list(predictions)
    while len(predictions) > len(gold) and not predictions[-1].sql:
        predictions.pop()  # blank lines at the end of the prediction file
    counts = f"{len(predictions)} predictions for {len(gold)} gold queries in {gold_file}"
    if len(predictions) > len(gold):
        extra = predictions[len(gold)]
        raise InputError(str(pred_file), f"{counts}: this prediction has no gold query", record=extra.record)
    if len(predictions) < len(gold):
        missing = gold[len(predictions)]
        raise InputError(str(pred_file), f"{counts}: no prediction for {where(gold_file, missing.record)}")
    items = []
    for g, p in zip(gold, predictions):
        if p.db_id is not None and p.db_id != g.db_id:
            raise InputError(str(pred_file), f"db_id {p.db_id!r} but the gold ({where(gold_file, g.record)}) has {g.db_id!r}", record=p.record)
        items.append(
            EvalItem(
                db_id=g.db_id, gold=g.sql, prediction=p.sql, question=g.question, difficulty=g.difficulty,
                source=str(gold_file), record=g.record, prediction_error=p.error,
            )
        )
    return items


def read_jsonl(path: str | Path) -> list[EvalItem]:
    """Items from our JSONL format."""
    path = Path(path)
    items = []
    for n, line in enumerate(_lines(path, lenient=True), start=1):
        if not line.strip():
            continue
        where = f"line {n}"
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            raise InputError(str(path), f"not valid JSON ({e.msg}, column {e.colno})", record=where) from e
        except RecursionError as e:
            raise InputError(str(path), "not valid JSON (nested too deeply)", record=where) from e
        if not isinstance(rec, dict):
            raise InputError(str(path), "expected a JSON object", record=where)
        for key in ("db_id", "gold", "prediction"):
            if not isinstance(rec.get(key), str):
                raise InputError(str(path), f"missing string field {key!r}", record=where)
        for key, value in rec.items():
            if key != "prediction" and utf8_error(json.dumps(value, ensure_ascii=False)):
                raise InputError(str(path), f"field {key!r} is not valid UTF-8", record=where)
        tables = {}
        for key in ("predicted_tables", "gold_tables"):
            value = rec.get(key)
            if value is not None and not (isinstance(value, list) and all(isinstance(t, str) for t in value)):
                raise InputError(str(path), f"{key!r} must be a list of table names", record=where)
            tables[key] = tuple(value) if value is not None else None
        fallback = rec.get("fallback")
        if fallback is not None and not isinstance(fallback, bool):
            raise InputError(str(path), "'fallback' must be true or false", record=where)
        error = utf8_error(rec["prediction"])
        items.append(
            EvalItem(
                db_id=rec["db_id"], gold=rec["gold"], prediction="" if error else rec["prediction"], prediction_error=error,
                question=str(rec.get("question", "")), difficulty=str(rec.get("difficulty", "")),
                source=str(path), record=where, fallback=fallback, **tables,
            )
        )
    if not items:
        raise InputError(str(path), "no records")
    return items


def locate_databases(
    items: Sequence[EvalItem], db_root: str | Path, schemas: Mapping[str, Database] | None = None, tables_file: str | Path = "tables.json"
) -> dict[str, list[Path]]:
    """The ``.sqlite`` files of every db_id the items use; unknown db_ids, missing and broken databases are InputErrors."""
    found, _ = find_databases(items, db_root, schemas, tables_file)
    return found


def find_databases(
    items: Sequence[EvalItem],
    db_root: str | Path,
    schemas: Mapping[str, Database] | None = None,
    tables_file: str | Path = "tables.json",
    skip_missing: bool = False,
) -> tuple[dict[str, list[Path]], dict[str, list[EvalItem]]]:
    """(db_id -> its ``.sqlite`` files, db_id -> the items left out because it has none).

    A database's files are ``db_root/<db_id>/*.sqlite``, else the ``sqlite_paths`` its schema in
    ``schemas`` records (the ``sqlite`` source also finds ``db_root/<db_id>.sqlite``).

    Every problem is reported at once, in one InputError: all db_ids unknown to ``tables_file``, all
    db_ids without a database (unless ``skip_missing``, which leaves their items out instead), and
    every file that is not a valid SQLite database (an empty, truncated or foreign file would otherwise
    make gold queries fail and silently shrink the EX denominator).
    """
    db_root = Path(db_root)
    if not db_root.is_dir():
        raise InputError(str(db_root), "database folder not found")
    first: dict[str, EvalItem] = {}
    for item in items:
        first.setdefault(item.db_id, item)
    if schemas is not None:
        unknown = [i for d, i in first.items() if d not in schemas]
        if unknown:
            raise InputError(unknown[0].source, _listing(
                f"unknown db_id {unknown[0].db_id!r}: not in {tables_file}", "db_id(s) not in it", unknown[1:]
            ), record=unknown[0].record)
    found: dict[str, list[Path]] = {}
    missing: list[EvalItem] = []
    for db_id, item in first.items():
        files = find_sqlite_files(db_root, db_id)
        if not files and schemas is not None and db_id in schemas:  # a source that found the file itself
            files = [Path(p) for p in getattr(schemas[db_id], "sqlite_paths", None) or [] if Path(p).is_file()]
        if files:
            found[db_id] = [f.resolve() for f in files]
        else:
            missing.append(item)
    if missing and not skip_missing:
        reason = _listing(
            f"missing database for db_id {missing[0].db_id!r}: no .sqlite file in {db_root / missing[0].db_id}",
            "db_id(s) without a database", missing[1:],
        )
        raise InputError(missing[0].source, reason + "; pass --skip-missing-db to score only the questions whose database exists",
                         record=missing[0].record)
    broken = [(path, problem) for paths in found.values() for path in paths if (problem := sqlite_file_problem(path))]
    if broken:
        path, problem = broken[0]
        more = "".join(f"; {p} is broken too: {why}" for p, why in broken[1:])
        raise InputError(str(path), f"not a valid SQLite database: {problem}{more}")
    skipped_ids = {i.db_id for i in missing}
    skipped: dict[str, list[EvalItem]] = {d: [] for d in skipped_ids}
    for item in items:
        if item.db_id in skipped_ids:
            skipped[item.db_id].append(item)
    return found, skipped


def _listing(head: str, label: str, more: Sequence[EvalItem]) -> str:
    if not more:
        return head
    return f"{head}; {len(more)} more {label}: " + ", ".join(f"{i.db_id!r} ({where(i.source, i.record)})" for i in more)


_SQLITE_MAGIC = b"SQLite format 3\x00"


def sqlite_file_problem(path: Path) -> str | None:
    """Why ``path`` is not a usable SQLite database, or None.

    Checks the 100-byte header (SQLite itself treats a 0-byte file as an empty database, which would
    turn every gold query into "no such table"), the size the header promises, and that the schema
    can be read.
    """
    import sqlite3

    from lrsql_plugin.evaluation.execution import open_read_only

    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            header = f.read(100)
    except OSError as e:
        return f"cannot read ({e.strerror or e})"
    if size == 0:
        return "empty file (0 bytes)"
    if len(header) < 100 or not header.startswith(_SQLITE_MAGIC):
        return f"no SQLite header ({size} bytes)"
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    if header[24:28] == header[92:96] and pages and size < page_size * pages:
        return f"truncated: {size} bytes, but the header says {pages} pages of {page_size} bytes"
    try:
        conn = open_read_only(path)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchall()
        finally:
            conn.close()
    except sqlite3.Error as e:
        return f"cannot be read ({e})"
    return None
