"""Ask your own database questions from Python: load the base model and both adapters once, then
``predict`` one question at a time.

    from lrsql_plugin.inference.predictor import Predictor

    predictor = Predictor.load(dataset="datasets/mydb", db_dir="databases/", base="Qwen/Qwen2.5-Coder-7B-Instruct",
                               schema_link_adapter="saves/schema_link", sql_adapter="saves/sql_generation")
    p = predictor.predict("How many orders came from Paris?", db_id="shop")
    p.tables, p.sql                       # the linked tables and the predicted SQL
    predictor.execute(p).rows             # read-only, first statement only, under a timeout

The prompts are the training prompts: the slicing and rendering settings come from the conversion's
manifest (``dataset``), as in ``lrsql-eval --dataset``, and the pipeline is the one ``lrsql-eval``
runs (``lrsql_plugin.inference.run.InferenceSetup``).  A database is read (schema introspected
from its ``.sqlite`` file, as ``lrsql-convert sqlite`` does) on its first question.  ``lrsql-predict``
is the command line of this class.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path

from lrsql_plugin.errors import InputError
from lrsql_plugin.evaluation.execution import first_statement, open_read_only
from lrsql_plugin.hparams.infer_args import InferenceArguments
from lrsql_plugin.inference.engines.base import GenerationEngine
from lrsql_plugin.inference.pipeline import InferenceQuestion
from lrsql_plugin.inference.run import InferenceSetup, engine_from_arguments
from lrsql_plugin.prompts.render import parse_unit_answer
from lrsql_plugin.sources.base import SourceData

DEFAULT_TIMEOUT = 30.0
DEFAULT_ROWS = 20

# Click parameter names of lrsql-eval for the InferenceArguments fields where they differ (``explicit``).
_PARAM_NAMES = {"tokenizer": "slice_tokenizer"}


@dataclass(frozen=True)
class SliceLink:
    """One schema-link prompt: the slice's tables (link units), the model's answer and what it linked."""

    tables: tuple[str, ...]
    answer: str
    linked: tuple[str, ...]


@dataclass(frozen=True)
class Prediction:
    """The answer to one question."""

    question: str
    db_id: str
    evidence: str
    sql: str  # the first SQL statement of the SQL model's answer ("" when it holds none)
    tables: tuple[str, ...]  # the linked tables of the question's database (stage 1)
    sql_tables: tuple[str, ...]  # the tables the SQL prompt showed (after a fallback or the prompt budget)
    fallback_kind: str  # none | full_schema | bm25: nothing was linked (see inference/pipeline.py)
    slices: tuple[SliceLink, ...]
    sql_answer: str  # the SQL model's whole answer
    record: Mapping[str, object] = field(default_factory=dict)  # as lrsql-eval writes it to predictions.jsonl


@dataclass(frozen=True)
class QueryResult:
    """What running a prediction gave: ``status`` ok, error, refused (not read-only) or timeout."""

    status: str
    columns: tuple[str, ...] = ()
    rows: tuple[tuple, ...] = ()
    truncated: bool = False  # more rows than were fetched
    message: str = ""
    seconds: float = 0.0


class Predictor:
    """Two-stage LR-SQL inference on one question at a time, the model loaded once.

    ``data`` holds the schemas (its ``databases`` may start empty: with ``db_dir`` a database is read
    from ``<db_dir>/<db_id>.sqlite`` or ``<db_dir>/<db_id>/<db_id>.sqlite`` on its first question);
    ``engine`` defaults to the one ``args`` describe (``engine_from_arguments``), built here once.
    """

    def __init__(
        self,
        data: SourceData,
        args: InferenceArguments,
        engine: GenerationEngine | None = None,
        db_dir: str | Path | None = None,
    ) -> None:
        if args.link_only or args.linker != "model":
            raise ValueError("the predictor runs both stages with the model: leave out link_only and linker")
        self.data, self.args = data, args
        self.db_dir = Path(db_dir) if db_dir is not None else None
        self.setup = InferenceSetup(data, args)
        self.engine = engine if engine is not None else engine_from_arguments(args)
        self.setup.apply_cutoff(self.engine)
        self.pipeline = self.setup.pipeline(self.engine)
        self._count = 0

    @classmethod
    def load(
        cls,
        *,
        db_dir: str | Path,
        dataset: str | Path | None = None,
        base: str | None = None,
        schema_link_adapter: str | Path | None = None,
        sql_adapter: str | Path | None = None,
        template: str | None = None,
        engine: str = "hf",
        **settings: object,
    ) -> Predictor:
        """Load the base model and both adapters (``engine`` hf, vllm or openai with ``api_base``).

        ``settings`` are further ``InferenceArguments`` fields (``dtype``, ``link_max_new_tokens``,
        ``sql_max_new_tokens``, ``tables_per_slice`` ...).  With ``dataset`` the slicing and rendering
        settings are the conversion's (a differing one given here is an InputError); the chat template
        and base model default to what the adapters recorded, as with ``lrsql-eval``.
        """
        from lrsql_plugin.cli.evaluate import settings_from_dataset_and_adapters
        from lrsql_plugin.inference.preflight import check_inference_models

        known = {f.name for f in fields(InferenceArguments)}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise TypeError(f"unknown setting(s): {', '.join(unknown)}; expected InferenceArguments fields")
        given_now = {"dataset": dataset, "base": base, "schema_link_adapter": schema_link_adapter,
                     "sql_adapter": sql_adapter, "template": template, "engine": engine, **settings}
        given_now = {k: str(v) if isinstance(v, Path) else v for k, v in given_now.items() if v is not None}
        defaults = {f.name: f.default for f in fields(InferenceArguments) if f.default is not MISSING}
        given = {**defaults, **given_now}
        explicit = {_PARAM_NAMES.get(k, k) for k in given_now}
        args = InferenceArguments(**settings_from_dataset_and_adapters(given, explicit))
        if args.linker == "model":
            check_inference_models(args)
        data = SourceData("sqlite", {}, [], db_root=Path(db_dir))
        predictor_db_dir = Path(db_dir)
        if not predictor_db_dir.is_dir():
            raise InputError(str(predictor_db_dir), "database folder not found")
        if args.dataset:  # a merged conversion links in pseudo-databases: their members are read now
            from lrsql_plugin.manifest import load_manifest

            for entry in load_manifest(args.dataset).data.get("pseudo_databases") or []:
                for member in entry["members"]:
                    _read_database(data, predictor_db_dir, member)
        return cls(data, args, db_dir=predictor_db_dir)

    @property
    def db_ids(self) -> list[str]:
        """The databases read so far."""
        return sorted(self.data.databases)

    def database(self, db_id: str):
        """The schema of ``db_id``, read from ``db_dir`` on first use."""
        if db_id not in self.data.databases:
            if self.db_dir is None:
                raise InputError("--db-id", f"unknown db_id {db_id!r}; known: {', '.join(self.db_ids) or 'none'}")
            _read_database(self.data, self.db_dir, db_id)
        return self.data.databases[db_id]

    def predict(self, question: str, db_id: str, evidence: str = "") -> Prediction:
        """Link the question's tables slice by slice, then write its SQL."""
        question, evidence = question.strip(), (evidence or "").strip()
        if not question:
            raise ValueError("the question is empty")
        self.database(db_id)
        self.setup.check_databases({db_id})
        q = InferenceQuestion(self._count, db_id, question, evidence)
        self._count += 1
        [p] = self.pipeline.run_batch([q])
        self.setup.finish([p])
        return Prediction(
            question=question, db_id=db_id, evidence=evidence, sql=p.sql, tables=tuple(p.linked_tables),
            sql_tables=tuple(p.sql_tables or ()), fallback_kind=p.fallback_kind, slices=self._slice_links(q, p),
            sql_answer=p.sql_answer, record={**p.record(), "evidence": evidence},
        )

    def _slice_links(self, q: InferenceQuestion, p: object) -> tuple[SliceLink, ...]:
        if self.args.gold_tables or len(p.slices) != len(p.link_answers):  # full-schema linking: one answer
            return tuple(SliceLink(tuple(s), a, ()) for s, a in zip(p.slices, p.link_answers))
        db = self.pipeline.link_context(q).database
        return tuple(
            SliceLink(tuple(s), answer, tuple(parse_unit_answer(answer, [db.table(n) for n in s])))
            for s, answer in zip(p.slices, p.link_answers)
        )

    def execute(
        self, prediction: Prediction | str, db_id: str | None = None, timeout: float = DEFAULT_TIMEOUT,
        max_rows: int = DEFAULT_ROWS,
    ) -> QueryResult:
        """Run a prediction's SQL (or any SQL text) on its database as the evaluator does: a read-only
        connection that refuses writes, DDL, ATTACH and PRAGMA, the first statement only, stopped after
        ``timeout`` seconds; the first ``max_rows`` rows are fetched."""
        sql = prediction.sql if isinstance(prediction, Prediction) else prediction
        db_id = db_id or (prediction.db_id if isinstance(prediction, Prediction) else None)
        if not db_id:
            raise ValueError("give the db_id the SQL runs on")
        db = self.database(db_id)
        if not db.sqlite_paths:
            return QueryResult("error", message=f"no database file for {db_id!r}")
        return execute_read_only(db.sqlite_paths[0], sql, timeout, max_rows)

    def close(self) -> None:
        close = getattr(self.engine, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> Predictor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _read_database(data: SourceData, db_dir: Path, db_id: str) -> None:
    from lrsql_plugin.sources.sqlite_folder import find_database_file, introspect_sqlite

    path = find_database_file(db_dir, db_id)
    if path is None:
        raise InputError(str(db_dir), f"db_id {db_id!r} has no SQLite file ({db_id}.sqlite or {db_id}/{db_id}.sqlite)")
    data.databases[db_id] = introspect_sqlite(path, db_id)


# Messages of SQLite's refusals under the evaluator's guards (authorizer, read-only file, query_only).
_REFUSALS = ("not authorized", "attempt to write a readonly database", "readonly", "query_only")


def execute_read_only(db_path: str | Path, sql: str, timeout: float = DEFAULT_TIMEOUT, max_rows: int = DEFAULT_ROWS) -> QueryResult:
    """The first statement of ``sql`` on a guarded read-only connection (``evaluation.execution.open_read_only``)
    under a deadline; a statement that would write is refused before it runs."""
    if not sql.strip():
        return QueryResult("error", message="no SQL to run")
    started = time.monotonic()
    deadline = started + timeout
    conn = open_read_only(db_path)
    conn.set_progress_handler(lambda: time.monotonic() > deadline, 1000)
    try:
        cursor = conn.execute(first_statement(sql))
        if cursor.description is None:
            return QueryResult("refused", message="the statement returns no result set; only queries run",
                               seconds=time.monotonic() - started)
        columns = tuple(d[0] for d in cursor.description)
        rows = cursor.fetchmany(max_rows + 1)
    except sqlite3.Error as e:
        seconds = time.monotonic() - started
        text = str(e) or type(e).__name__
        if time.monotonic() > deadline:
            return QueryResult("timeout", message=f"timeout after {timeout:g} s", seconds=seconds)
        if any(r in text.lower() for r in _REFUSALS):
            return QueryResult("refused", message=f"only read-only queries run ({text})", seconds=seconds)
        return QueryResult("error", message=text, seconds=seconds)
    except ValueError as e:  # a NUL character in the text
        return QueryResult("error", message=str(e), seconds=time.monotonic() - started)
    finally:
        conn.close()
    return QueryResult("ok", columns, tuple(tuple(r) for r in rows[:max_rows]), len(rows) > max_rows,
                       seconds=time.monotonic() - started)
