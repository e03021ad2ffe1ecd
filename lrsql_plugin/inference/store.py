"""Resumable output: predictions are appended (and fsynced) as each batch completes.

After a crash or SIGKILL the file may end in a partial line; ``load`` drops it, and a resumed run
continues with the first question that has no complete line, so the finished file equals that
of an uninterrupted run.  Timings live in a separate ``timings.jsonl`` because they differ
between runs.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from lrsql_plugin.errors import InputError
from lrsql_plugin.inference.pipeline import Prediction


class PredictionStore:
    def __init__(self, out_dir: str | Path, resume: bool) -> None:
        self.dir = Path(out_dir)
        self.path, self.timings_path = self.dir / "predictions.jsonl", self.dir / "timings.jsonl"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.records: list[dict] = []
        if resume:
            self.records = self._load_complete(self.path)
            self._load_complete(self.timings_path, keep=len(self.records))
        else:
            for p in (self.path, self.timings_path):
                p.unlink(missing_ok=True)

    @staticmethod
    def _load_complete(path: Path, keep: int | None = None) -> list[dict]:
        """Complete lines of ``path`` (at most ``keep``); the file is truncated to exactly those."""
        if not path.exists():
            return []
        raw = path.read_bytes()
        lines = raw.split(b"\n")
        complete = lines[:-1]  # the last piece has no newline: empty, or a partial line
        records = []
        for n, line in enumerate(complete[:keep] if keep is not None else complete):
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise InputError(str(path), f"cannot resume: line {n + 1} is not JSON ({e.msg})") from e
        size = sum(len(line) + 1 for line in complete[: len(records)])
        with open(path, "r+b") as f:
            f.truncate(size)
        return records

    @property
    def done(self) -> set[int]:
        return {r["index"] for r in self.records}

    def append(self, predictions: list[Prediction]) -> None:
        with open(self.path, "a", encoding="utf-8") as f, open(self.timings_path, "a", encoding="utf-8") as t:
            for p in predictions:
                rec = p.record()
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")
                t.write(json.dumps({"index": p.index, **p.timings}) + "\n")
                self.records.append(rec)
            f.flush()
            t.flush()
            os.fsync(f.fileno())
            os.fsync(t.fileno())
