"""Settings of ``lrsql-eval`` (the Python API ``evaluate`` takes the same dataclass)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

SEMANTICS = ("spider", "bird")
DEFAULT_MAX_ROWS = 1_000_000


@dataclass
class EvalArguments:
    semantics: str = field(
        default="spider",
        metadata={
            "help": "EX semantics: 'spider' (multiset of rows up to a column permutation, order only with "
            "ORDER BY in the gold, DISTINCT removed) or 'bird' (set of rows, column order matters)."
        },
    )
    keep_distinct: bool = field(
        default=False, metadata={"help": "Spider semantics: keep DISTINCT instead of removing it from both queries."}
    )
    timeout: float = field(
        default=30.0, metadata={"help": "Seconds one query may run before it is interrupted (scored 0 as timeout)."}
    )
    workers: int = field(
        default_factory=lambda: min(4, os.cpu_count() or 1),
        metadata={"help": "Parallel worker threads, each with its own read-only connections."},
    )
    max_rows: int = field(
        default=DEFAULT_MAX_ROWS,
        metadata={"help": "Rows fetched per query at most; a larger result is an error for that query."},
    )

    def __post_init__(self) -> None:
        if self.semantics not in SEMANTICS:
            raise ValueError(f"semantics must be one of {', '.join(SEMANTICS)}, got {self.semantics!r}")
        if not self.timeout > 0:
            raise ValueError(f"timeout must be positive, got {self.timeout}")
        self.timeout = float(self.timeout)
        if self.workers < 1:
            raise ValueError(f"workers must be at least 1, got {self.workers}")
        if self.max_rows < 1:
            raise ValueError(f"max_rows must be at least 1, got {self.max_rows}")

    @property
    def removes_distinct(self) -> bool:
        """DISTINCT is stripped only under Spider semantics (BIRD's evaluator never strips it)."""
        return self.semantics == "spider" and not self.keep_distinct
