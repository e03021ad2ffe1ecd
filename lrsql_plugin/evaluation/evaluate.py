"""The Python API: score a list of items by execution, with hardness / difficulty buckets and linking metrics."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from lrsql_plugin.evaluation.execution import QueryOutcome, QueryRunner
from lrsql_plugin.evaluation.hardness import HardnessError, spider_hardness
from lrsql_plugin.evaluation.inputs import EvalItem, locate_databases
from lrsql_plugin.evaluation.linking import LinkingScores, linking_scores
from lrsql_plugin.evaluation.semantics import (
    bird_results_equal,
    has_order_by,
    join_spaced_comparisons,
    remove_distinct,
    spider_results_equal,
)
from lrsql_plugin.hparams.eval_args import EvalArguments
from lrsql_plugin.schema.gold_tables import GoldTableError, parse_sqlite, referenced_table_names
from lrsql_plugin.schema.model import Database

OUTCOMES = ("match", "mismatch", "prediction_error", "timeout", "gold_error")
UNKNOWN_BUCKET = "unknown"


@dataclass(frozen=True)
class ExampleResult:
    """The verdict on one item; ``outcome`` is one of OUTCOMES, ``message`` says why for errors."""

    index: int
    item: EvalItem
    outcome: str
    message: str = ""
    hardness: str | None = None

    @property
    def match(self) -> bool:
        return self.outcome == "match"

    @property
    def reason(self) -> str:
        if self.outcome in ("prediction_error", "gold_error"):
            return f"{self.outcome.replace('_', ' ')}: {self.message}"
        return self.outcome


@dataclass(frozen=True)
class BucketScore:
    """EX of a group of items and how the rest failed."""

    total: int
    counts: Mapping[str, int]

    @property
    def scored(self) -> int:
        """The EX denominator: every outcome except a gold query that fails."""
        return self.total - self.counts.get("gold_error", 0)

    @property
    def ex(self) -> float | None:
        return self.counts.get("match", 0) / self.scored if self.scored else None

    @classmethod
    def of(cls, examples: Sequence[ExampleResult]) -> BucketScore:
        found = Counter(e.outcome for e in examples)
        return cls(total=len(examples), counts={o: found.get(o, 0) for o in OUTCOMES})


@dataclass
class EvalResult:
    examples: list[ExampleResult]
    settings: EvalArguments
    db_root: Path
    databases: dict[str, list[Path]]
    linking: LinkingScores | None
    linking_skipped: int
    seconds: float

    @property
    def bucket_kind(self) -> str:
        """'difficulty' when every item carries one (BIRD), else Spider 'hardness'."""
        return "difficulty" if self.examples and all(e.item.difficulty for e in self.examples) else "hardness"

    def bucket_of(self, example: ExampleResult) -> str:
        label = example.item.difficulty if self.bucket_kind == "difficulty" else example.hardness
        return label or UNKNOWN_BUCKET

    @property
    def overall(self) -> BucketScore:
        return BucketScore.of(self.examples)

    @property
    def ex(self) -> float | None:
        return self.overall.ex

    def buckets(self) -> dict[str, BucketScore]:
        """Scores per bucket, in the canonical level order when known, else by first appearance."""
        groups: dict[str, list[ExampleResult]] = {}
        for e in self.examples:
            groups.setdefault(self.bucket_of(e), []).append(e)
        order = ["easy", "medium", "hard", "extra", "simple", "moderate", "challenging"]
        names = sorted(groups, key=lambda b: order.index(b) if b in order else len(order))
        return {b: BucketScore.of(groups[b]) for b in names}

    @property
    def gold_errors(self) -> list[ExampleResult]:
        return [e for e in self.examples if e.outcome == "gold_error"]


class _OnceCache:
    """Computes each key once even when several threads ask for it at the same time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._futures: dict[tuple, Future] = {}

    def get(self, key: tuple, compute: Callable[[], QueryOutcome]) -> QueryOutcome:
        with self._lock:
            future = self._futures.get(key)
            owner = future is None
            if owner:
                future = self._futures[key] = Future()
        if owner:
            try:
                future.set_result(compute())
            except BaseException as e:
                future.set_exception(e)
        return future.result()


@dataclass(frozen=True)
class _Gold:
    """What a gold query's text determines: the SQL to run, how to compare, its hardness."""

    sql: str
    equal: Callable[[list[tuple], list[tuple]], bool]
    hardness: str | None


class _Judge:
    """Scores one item on all its database files.

    Each distinct gold text is analysed once and each (database file, gold) runs once; Spider
    dev, for one, has 1034 questions but only 563 distinct gold queries.
    """

    def __init__(self, runner: QueryRunner, settings: EvalArguments, databases: dict[str, list[Path]]) -> None:
        self.runner, self.settings, self.databases = runner, settings, databases
        self.gold_results = _OnceCache()
        self.golds: dict[str, _Gold] = {}  # a race only computes an entry twice

    def _prepare(self, sql: str) -> str:
        if self.settings.semantics == "bird":
            return sql
        sql = join_spaced_comparisons(sql)
        return remove_distinct(sql) if self.settings.removes_distinct else sql

    def _gold(self, text: str) -> _Gold:
        gold = self.golds.get(text)
        if gold is None:
            try:
                hardness = spider_hardness(text)
            except HardnessError:
                hardness = None
            sql = self._prepare(text)
            if self.settings.semantics == "bird":
                equal = bird_results_equal
            else:
                order_matters = has_order_by(sql)
                equal = lambda g, p: spider_results_equal(g, p, order_matters)  # noqa: E731
            gold = self.golds[text] = _Gold(sql, equal, hardness)
        return gold

    def __call__(self, index: int, item: EvalItem) -> ExampleResult:
        gold = self._gold(item.gold)

        def verdict(outcome: str, message: str = "") -> ExampleResult:
            return ExampleResult(index, item, outcome, message, gold.hardness)

        pred_sql = self._prepare(item.prediction)
        for db_path in self.databases[item.db_id]:
            expected = self.gold_results.get((db_path, gold.sql), lambda p=db_path: self.runner.run(p, gold.sql))
            if expected.status != "ok":
                return verdict("gold_error", f"{expected.message} (on {db_path.name})")
            if item.prediction_error:
                return verdict("prediction_error", item.prediction_error)
            pred = self.runner.run(db_path, pred_sql)
            if pred.status == "timeout":
                return verdict("timeout", pred.message)
            if pred.status == "error":
                return verdict("prediction_error", pred.message)
            if not gold.equal(expected.rows, pred.rows):
                return verdict("mismatch", f"results differ on {db_path.name}")
        return verdict("match")


def _gold_tables(item: EvalItem) -> tuple[str, ...] | None:
    if item.gold_tables is not None:
        return item.gold_tables
    try:
        return tuple(referenced_table_names(parse_sqlite(item.gold)))
    except GoldTableError:
        return None


def evaluate(
    items: Sequence[EvalItem],
    db_root: str | Path,
    settings: EvalArguments | None = None,
    *,
    schemas: Mapping[str, Database] | None = None,
    tables_file: str | Path = "tables.json",
    progress: bool = True,
) -> EvalResult:
    """Execute and compare every item's gold and prediction on ``db_root/<db_id>/*.sqlite``.

    Databases are checked before anything runs (InputError for an unknown db_id when ``schemas``
    is given, or a missing database).  Results keep the items' order.
    """
    settings = settings or EvalArguments()
    started = time.monotonic()
    databases = locate_databases(items, db_root, schemas, tables_file)
    with QueryRunner(settings.timeout, settings.max_rows) as runner:
        judge = _Judge(runner, settings, databases)
        with ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="lrsql-eval") as pool:
            verdicts = pool.map(judge, range(len(items)), items)
            examples = list(tqdm(verdicts, total=len(items), desc="lrsql-eval", unit="q", disable=not progress))
    linked = [(e.item.predicted_tables, _gold_tables(e.item)) for e in examples if e.item.predicted_tables is not None]
    # items whose gold tables are neither given nor derivable from an unparsable gold are left out
    return EvalResult(
        examples=examples,
        settings=settings,
        db_root=Path(db_root).resolve(),
        databases=databases,
        linking=linking_scores((p, g) for p, g in linked if g is not None),
        linking_skipped=sum(g is None for _, g in linked),
        seconds=time.monotonic() - started,
    )
