"""Errors that name the file, the record and the reason."""

from __future__ import annotations

from dataclasses import dataclass


class LrsqlError(Exception):
    """Base class for every error lrsql raises on purpose."""


class InputError(LrsqlError):
    """Fatal problem with an input file: the run stops and writes nothing."""

    def __init__(self, file: str, reason: str, record: str | int | None = None) -> None:
        self.file, self.reason, self.record = str(file), reason, record
        where = self.file if record is None else f"{self.file}, record {record}"
        super().__init__(f"{where}: {reason}")


@dataclass(frozen=True)
class Skipped:
    """A record left out of the output, with where it came from and why."""

    file: str
    record: str | int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}, record {self.record}: {self.reason}"
