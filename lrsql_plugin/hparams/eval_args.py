"""Settings of ``lrsql-eval`` (the Python API ``evaluate`` takes the same dataclass)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

SEMANTICS = ("spider", "bird")
ETYPES = ("exec", "match", "all")  # the official script's --etype: execution, exact-set match, both
DEFAULT_MAX_ROWS = 1_000_000
GOLD_ERROR_LIMIT = 0.05  # more than this share of questions with a failing gold query stops the run (exit 3)


@dataclass
class EvalArguments:
    semantics: str = field(
        default="spider",
        metadata={
            "help": "EX semantics: 'spider' (multiset of rows up to a column permutation, order only with "
            "ORDER BY in the gold, DISTINCT removed) or 'bird' (set of rows, column order matters).",
            "choices": SEMANTICS,
            "default_text": "spider; bird with --bird-dir",
        },
    )
    keep_distinct: bool = field(
        default=False,
        metadata={"help": "Spider semantics: keep DISTINCT instead of removing it from both queries.",
                  "aliases": ("--keep_distinct",)},
    )
    timeout: float = field(
        default=30.0, metadata={"help": "Seconds one query may run before it is interrupted (scored 0 as timeout)."}
    )
    workers: int = field(
        default_factory=lambda: min(4, os.cpu_count() or 1),
        metadata={"help": "Parallel worker threads, each with its own read-only connections.",
                  "default_text": "min(4, CPUs)"},
    )
    max_rows: int = field(
        default=DEFAULT_MAX_ROWS,
        metadata={"help": "Rows fetched per query at most; a larger result is an error for that query."},
    )

    etype: str = field(
        default="exec",
        metadata={"help": "What is computed: 'exec' (EX), 'match' (exact-set match, EM; needs the schemas: --table "
                  "or --spider-dir) or 'all' (both), as the official script's --etype.",
                  "choices": ETYPES},
    )
    plug_value: bool = field(
        default=False,
        metadata={"help": "EX: plug the gold query's values into the prediction's value slots (every assignment "
                  "tried; a match on any counts), as the official --plug_value.",
                  "aliases": ("--plug_value",)},
    )
    skip_missing_db: bool = field(
        default=False,
        metadata={"help": "Score only the questions whose database exists; the others are counted and listed."},
    )
    allow_gold_errors: bool = field(
        default=False,
        metadata={"help": f"Do not fail (exit 3) when more than {GOLD_ERROR_LIMIT:.0%} of the gold queries fail."},
    )

    def __post_init__(self) -> None:
        if self.etype not in ETYPES:
            raise ValueError(f"etype must be one of {', '.join(ETYPES)}, got {self.etype!r}")
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
    def computes_ex(self) -> bool:
        return self.etype in ("exec", "all")

    @property
    def computes_em(self) -> bool:
        return self.etype in ("match", "all")

    @property
    def removes_distinct(self) -> bool:
        """DISTINCT is stripped only under Spider semantics (BIRD's evaluator never strips it)."""
        return self.semantics == "spider" and not self.keep_distinct
