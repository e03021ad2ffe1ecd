"""Errors that name the file, the record and the reason.

One convention for every message of both tools (README, "Errors"):
``FILE, line N: REASON`` for line-oriented files (text, JSONL, a JSON syntax error), ``FILE, record N:
REASON`` for the N-th element of a JSON list, ``FILE, key K: REASON`` for a key of a JSON object;
N is 1-based.  Callers pass ``record`` as a 1-based int or as a label ("line 3", "key 0", "record 4").
"""

from __future__ import annotations

from dataclasses import dataclass


class LrsqlError(Exception):
    """Base class for every error lrsql raises on purpose."""


_LABELS = ("line ", "key ", "record ")


def record_label(record: str | int) -> str:
    """``3`` -> "record 3"; "line 3", "key 0" and "record 3" stay as they are; other text -> "record <text>"."""
    text = str(record)
    return text if text.startswith(_LABELS) else f"record {text}"


def where(file: str, record: str | int | None) -> str:
    """``FILE`` or ``FILE, line N`` / ``FILE, record N`` / ``FILE, key K``."""
    if record is None or record == "":
        return str(file)
    return f"{file}, {record_label(record)}" if file else record_label(record)


class InputError(LrsqlError):
    """Fatal problem with an input file: the run stops and writes nothing."""

    def __init__(self, file: str, reason: str, record: str | int | None = None) -> None:
        self.file, self.reason, self.record = str(file), reason, record
        super().__init__(f"{where(self.file, record)}: {reason}")


class OutputError(LrsqlError):
    """An output path that cannot be used (exists as a file, not writable, holds another run's files)."""


@dataclass(frozen=True)
class Skipped:
    """A record left out of the output, with where it came from and why."""

    file: str
    record: str | int
    reason: str

    def __str__(self) -> str:
        return f"{where(self.file, self.record)}: {self.reason}"
