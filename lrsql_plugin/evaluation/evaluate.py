"""The Python API: score a list of items by execution (EX) and exact-set match (EM), with hardness /
difficulty buckets and linking metrics."""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from lrsql_plugin.evaluation.exact_match import EMSchema, EMVerdict, exact_match, gold_em_error
from lrsql_plugin.evaluation.execution import QueryOutcome, QueryRunner
from lrsql_plugin.evaluation.hardness import HardnessError, spider_hardness
from lrsql_plugin.evaluation.inputs import EvalItem, find_databases
from lrsql_plugin.evaluation.linking import LinkingScores, linking_scores
from lrsql_plugin.evaluation.semantics import (
    bird_results_equal,
    has_order_by,
    join_spaced_comparisons,
    plugged_predictions,
    remove_distinct,
    spider_results_equal,
)
from lrsql_plugin.hparams.eval_args import EvalArguments
from lrsql_plugin.schema.gold_tables import GoldTableError, parse_sqlite, referenced_table_names
from lrsql_plugin.schema.model import Database

OUTCOMES = ("match", "mismatch", "prediction_error", "timeout", "gold_error")
NOT_RUN = "not_run"  # --etype match: nothing was executed
UNKNOWN_BUCKET = "unknown"
REPEATED_PREDICTION_ROWS = 1_000_000  # rows of repeated predictions' results kept at once
# SQL whose result can differ between two runs on the same file (random values, the clock)
_NONDETERMINISTIC = re.compile(r"\b(random|randomblob|changes|total_changes|last_insert_rowid)\s*\(|'now'", re.I)


@dataclass(slots=True)
class ExampleResult:
    """The verdict on one item; ``outcome`` is one of OUTCOMES, ``message`` says why for errors.

    Not frozen: a run of 22,000 replicated items builds one per item, and a frozen dataclass costs
    five times as much to build.  Treat it as read-only.
    """

    index: int
    item: EvalItem
    outcome: str
    message: str = ""
    hardness: str | None = None
    exact: EMVerdict | None = None  # EM verdict; None when EM was not computed or the gold has none
    exact_error: str = ""  # why the gold has no EM verdict

    @property
    def match(self) -> bool:
        return self.outcome == "match"

    @property
    def exact_match(self) -> bool | None:
        return None if self.exact is None else self.exact.match

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
    em_match: int = 0
    em_scored: int = 0  # items with an EM verdict (the gold reads into the official components)

    @property
    def scored(self) -> int:
        """The EX denominator: every outcome except a gold query that fails (or nothing executed)."""
        return self.total - self.counts.get("gold_error", 0) - self.counts.get(NOT_RUN, 0)

    @property
    def ex(self) -> float | None:
        return self.counts.get("match", 0) / self.scored if self.scored else None

    @property
    def em(self) -> float | None:
        return self.em_match / self.em_scored if self.em_scored else None

    @classmethod
    def of(cls, examples: Sequence[ExampleResult]) -> BucketScore:
        found = Counter(e.outcome for e in examples)
        counts = {o: found.get(o, 0) for o in OUTCOMES}
        if found.get(NOT_RUN):
            counts[NOT_RUN] = found[NOT_RUN]
        verdicts = [e.exact_match for e in examples if e.exact_match is not None]
        return cls(total=len(examples), counts=counts, em_match=sum(verdicts), em_scored=len(verdicts))


@dataclass
class EvalResult:
    examples: list[ExampleResult]
    settings: EvalArguments
    db_root: Path
    databases: dict[str, list[Path]]
    linking: LinkingScores | None
    linking_skipped: int
    seconds: float
    skipped_missing: dict[str, list[EvalItem]] = field(default_factory=dict)  # --skip-missing-db: db_id -> items left out

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

    @property
    def gold_error_rate(self) -> float:
        return len(self.gold_errors) / len(self.examples) if self.examples else 0.0

    @property
    def em_gold_errors(self) -> list[ExampleResult]:
        """Items whose gold query has no EM verdict (outside the official grammar), left out of EM."""
        return [e for e in self.examples if e.exact_error]

    @property
    def skipped_count(self) -> int:
        return sum(len(v) for v in self.skipped_missing.values())


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


class _RepeatedPredictions:
    """Results of prediction texts that come with several different golds, kept until their last use.

    Only texts known to come back are kept, each only until its last item is judged, and never
    more than ``max_rows`` rows in all: a prediction's result is model output, so holding every
    one of them could take as much memory as all the results of a run together.
    """

    def __init__(self, uses: Counter, max_rows: int) -> None:
        self.left = {key: n for key, n in uses.items() if n > 1}  # (db_id, text) -> items still to judge
        self.results: dict[tuple[str, str], dict[Path, QueryOutcome]] = {}
        self.rows, self.max_rows = 0, max_rows
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str], db_path: Path) -> QueryOutcome | None:
        return self.results.get(key, {}).get(db_path)

    def put(self, key: tuple[str, str], db_path: Path, outcome: QueryOutcome) -> None:
        if outcome.status == "timeout":  # may not repeat on a quieter machine: run it again
            return
        with self._lock:
            if key in self.left and self.rows + len(outcome.rows) <= self.max_rows:
                self.results.setdefault(key, {})[db_path] = outcome
                self.rows += len(outcome.rows)

    def done(self, key: tuple[str, str]) -> None:
        with self._lock:
            if key in self.left:
                self.left[key] -= 1
                if not self.left[key]:
                    del self.left[key]
                    for outcome in self.results.pop(key, {}).values():
                        self.rows -= len(outcome.rows)


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

    def __init__(
        self, runner: QueryRunner, settings: EvalArguments, databases: dict[str, list[Path]],
        schemas: Mapping[str, Database] | None = None, repeated: _RepeatedPredictions | None = None,
    ) -> None:
        self.runner, self.settings, self.databases = runner, settings, databases
        self.gold_results = _OnceCache()
        self.golds: dict[str, _Gold] = {}  # a race only computes an entry twice
        self.schemas = schemas or {}
        self.em_schemas: dict[str, EMSchema] = {}
        self.repeated = repeated or _RepeatedPredictions(Counter(), 0)

    def _exact(self, item: EvalItem) -> tuple[EMVerdict | None, str]:
        """(EM verdict, why the gold has none) when EM is computed."""
        if not self.settings.computes_em:
            return None, ""
        schema = self.em_schemas.get(item.db_id)
        if schema is None:
            schema = self.em_schemas[item.db_id] = EMSchema.of(self.schemas[item.db_id])
        error = gold_em_error(item.gold, schema)
        if error:
            return None, error
        if item.prediction_error:
            verdict = exact_match(item.gold, "", schema)
            return EMVerdict(False, f"prediction error: {item.prediction_error}", verdict.partial if verdict else {}), ""
        return exact_match(item.gold, item.prediction, schema), ""

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
        try:
            return self._judge(index, item)
        finally:
            self.repeated.done((item.db_id, item.prediction))

    def _judge(self, index: int, item: EvalItem) -> ExampleResult:
        gold = self._gold(item.gold)
        exact, exact_error = self._exact(item)

        def verdict(outcome: str, message: str = "") -> ExampleResult:
            return ExampleResult(index, item, outcome, message, gold.hardness, exact, exact_error)

        if not self.settings.computes_ex:
            return verdict(NOT_RUN)
        if self.settings.plug_value and not item.prediction_error:
            first: ExampleResult | None = None
            for candidate in plugged_predictions(item.gold, item.prediction):
                result = self._execute(gold, candidate, item, verdict, reuse=False)
                if result.match:
                    return result
                first = first or result
            return first or self._execute(gold, item.prediction, item, verdict)
        return self._execute(gold, item.prediction, item, verdict)

    def _execute(
        self, gold: _Gold, prediction: str, item: EvalItem, verdict: Callable[..., ExampleResult], reuse: bool = True
    ) -> ExampleResult:
        """``reuse``: ``prediction`` is the item's own text (not a --plug_value candidate), whose result
        may be shared with the other items that carry the same text."""
        pred_sql = self._prepare(prediction)
        # a text whose result can differ between two runs is always run again, as the official evaluator does
        deterministic = not _NONDETERMINISTIC.search(pred_sql)
        reuse = reuse and deterministic
        # a prediction that is the gold query's own text has the gold's result: spare running it again
        same_as_gold = deterministic and pred_sql == gold.sql
        key = (item.db_id, item.prediction)
        for db_path in self.databases[item.db_id]:
            expected = self.gold_results.get((db_path, gold.sql), lambda p=db_path: self.runner.run(p, gold.sql))
            if expected.status != "ok":
                return verdict("gold_error", f"{expected.message} (on {db_path.name})")
            if item.prediction_error:
                return verdict("prediction_error", item.prediction_error)
            pred = expected if same_as_gold else (self.repeated.get(key, db_path) if reuse else None)
            if pred is None:
                pred = self.runner.run(db_path, pred_sql)
                if reuse:
                    self.repeated.put(key, db_path, pred)
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

    Databases are checked before anything runs, every problem in one InputError: db_ids unknown to
    ``schemas`` (when given), missing databases (unless ``settings.skip_missing_db``: their items are
    then left out and listed in ``skipped_missing``) and files that are not valid SQLite databases.
    EM (``settings.etype`` match / all) needs ``schemas``.  Results keep the items' order; each
    keeps its index in ``items``.
    """
    settings = settings or EvalArguments()
    if settings.computes_em and schemas is None:
        raise ValueError("exact-set match needs the database schemas (tables.json)")
    started = time.monotonic()
    databases, skipped = find_databases(items, db_root, schemas, tables_file, skip_missing=settings.skip_missing_db)
    indexed = [(i, item) for i, item in enumerate(items) if item.db_id not in skipped]
    # Each distinct (db_id, gold, prediction) is judged once: repeated pairs (replicated runs, several
    # questions with one answer) cost a dictionary lookup, not a query.
    keys = [(item.db_id, item.gold, item.prediction, item.prediction_error) for _, item in indexed]
    first_of: dict[tuple, int] = {}
    for n, key in enumerate(keys):
        first_of.setdefault(key, n)
    distinct = list(first_of.values())  # in item order: dicts keep insertion order
    with QueryRunner(settings.timeout, settings.max_rows) as runner:
        uses = Counter((indexed[n][1].db_id, indexed[n][1].prediction) for n in distinct)
        judge = _Judge(runner, settings, databases, schemas, _RepeatedPredictions(uses, REPEATED_PREDICTION_ROWS))
        with ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="lrsql-eval") as pool:
            verdicts = pool.map(judge, [indexed[n][0] for n in distinct], [indexed[n][1] for n in distinct])
            judged = dict(zip(first_of, tqdm(verdicts, total=len(distinct), desc="lrsql-eval", unit="q", disable=not progress)))
    examples = []
    for (index, item), key in zip(indexed, keys):
        v = judged[key]
        examples.append(v if v.index == index else ExampleResult(index, item, v.outcome, v.message, v.hardness, v.exact, v.exact_error))
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
        skipped_missing=skipped,
    )
