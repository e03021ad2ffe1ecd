"""Read question files (JSON list or JSONL) into Example records, skipping bad records."""

from __future__ import annotations

import json
from pathlib import Path

from lrsql_plugin.errors import InputError, Skipped
from lrsql_plugin.schema.model import Database, Example


def read_records(path: Path) -> list[object]:
    """A JSON list, or JSON Lines when the file name ends in .jsonl."""
    if not path.is_file():
        raise InputError(str(path), "file not found")
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        records = []
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise InputError(str(path), f"not valid JSON ({e.msg})", record=f"line {lineno}") from e
        return records
    try:
        records = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(str(path), f"not valid JSON ({e})") from e
    if not isinstance(records, list):
        raise InputError(str(path), "expected a JSON list of questions")
    return records


def examples_from_records(
    path: Path,
    records: list[object],
    databases: dict[str, Database],
    sql_key: str,
    skipped: list[Skipped],
    unknown_db: str = "db_id {!r} has no schema",
) -> list[Example]:
    """Examples of the records that have a question, a gold SQL and a known db_id; others are skipped."""
    out: list[Example] = []
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            skipped.append(Skipped(str(path), i, "record is not an object"))
            continue
        missing = [k for k in ("db_id", "question", sql_key) if not isinstance(rec.get(k), str)]
        if missing:
            skipped.append(Skipped(str(path), i, f"missing or non-string field(s): {', '.join(missing)}"))
            continue
        if rec["db_id"] not in databases:
            skipped.append(Skipped(str(path), i, unknown_db.format(rec["db_id"])))
            continue
        out.append(
            Example(
                db_id=rec["db_id"],
                question=rec["question"].strip(),
                sql=rec[sql_key].strip(),
                source_file=str(path),
                index=i,
                evidence=str(rec.get("evidence") or "").strip(),
                difficulty=str(rec.get("difficulty") or ""),
                question_id=str(rec.get("question_id", i)),
            )
        )
    return out
