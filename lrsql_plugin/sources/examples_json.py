"""Read question files (JSON list or JSONL) into Example records, skipping bad records."""

from __future__ import annotations

import json
from pathlib import Path

from lrsql_plugin.errors import InputError, Skipped
from lrsql_plugin.files import parse_json, read_utf8
from lrsql_plugin.schema.model import Database, Example


def read_records(path: Path) -> list[object]:
    """A JSON list, or JSON Lines when the file name ends in .jsonl."""
    return read_labelled_records(path)[0]


def read_labelled_records(path: Path) -> tuple[list[object], list[str | int]]:
    """The records and where each is: "line N" in JSON Lines (blank lines skipped), record N (an int) in a JSON list."""
    text = read_utf8(path)
    if path.suffix == ".jsonl":
        records, labels = [], []
        for lineno, line in enumerate(text.split("\n"), start=1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise InputError(str(path), f"not valid JSON ({e.msg}, column {e.colno})", record=f"line {lineno}") from e
            except RecursionError as e:
                raise InputError(str(path), "not valid JSON (nested too deeply)", record=f"line {lineno}") from e
            labels.append(f"line {lineno}")
        return records, labels
    records = parse_json(path, text)
    if not isinstance(records, list):
        raise InputError(str(path), "expected a JSON list of questions")
    return records, list(range(1, len(records) + 1))


def examples_from_records(
    path: Path,
    records: list[object],
    databases: dict[str, Database],
    sql_key: str,
    skipped: list[Skipped],
    unknown_db: str = "db_id {!r} has no schema",
    labels: list[str | int] | None = None,
    sql_optional: bool = False,
) -> list[Example]:
    """Examples of the records that have a question, a gold SQL and a known db_id; others are skipped.

    ``labels`` say where each record is (``read_labelled_records``); by default "record N", 1-based.
    ``sql_optional`` (inference on questions without an answer): a record without ``sql_key`` (absent,
    null or blank) is kept with an empty ``sql``; one whose ``sql_key`` is not a string is still skipped.
    """
    out: list[Example] = []
    for i, rec in enumerate(records):
        where = labels[i] if labels else i + 1
        if not isinstance(rec, dict):
            skipped.append(Skipped(str(path), where, "record is not an object"))
            continue
        required = ("db_id", "question") if sql_optional and rec.get(sql_key) is None else ("db_id", "question", sql_key)
        missing = [k for k in required if not isinstance(rec.get(k), str)]
        if missing:
            skipped.append(Skipped(str(path), where, f"missing or non-string field(s): {', '.join(missing)}"))
            continue
        if rec["db_id"] not in databases:
            skipped.append(Skipped(str(path), where, unknown_db.format(rec["db_id"])))
            continue
        out.append(
            Example(
                db_id=rec["db_id"],
                question=rec["question"].strip(),
                sql=(rec.get(sql_key) or "").strip(),
                source_file=str(path),
                index=i,
                evidence=str(rec.get("evidence") or "").strip(),
                difficulty=str(rec.get("difficulty") or ""),
                question_id=str(rec.get("question_id", i)),
            )
        )
    return out
