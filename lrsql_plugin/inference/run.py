"""Run two-stage inference over source examples and write predictions.jsonl, timings.jsonl, pred.sql."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from tqdm import tqdm

from lrsql_plugin.context.schema_context import SchemaContext, database_renderer, pseudo_context
from lrsql_plugin.errors import InputError
from lrsql_plugin.files import atomic_write_text
from lrsql_plugin.hparams.convert_args import ConvertArguments
from lrsql_plugin.hparams.infer_args import InferenceArguments
from lrsql_plugin.inference.engines import build_engine
from lrsql_plugin.inference.engines.base import SCHEMA_LINK, SQL_GENERATION, GenerationEngine
from lrsql_plugin.inference.pipeline import (
    InferenceQuestion,
    LinkContext,
    PipelineSettings,
    Prediction,
    TwoStagePipeline,
)
from lrsql_plugin.inference.store import PredictionStore
from lrsql_plugin.manifest import MANIFEST, load_manifest
from lrsql_plugin.prompts.render import PromptRenderer
from lrsql_plugin.schema.gold_tables import GoldTableError, example_gold_tables
from lrsql_plugin.slicing.merge import PseudoDatabase
from lrsql_plugin.sources.base import SourceData
from lrsql_plugin.tokens import TokenCounter, load_token_counter

# Prompt settings recorded only in the manifest, with the value of a conversion made before they existed.
MANIFEST_ONLY = {"max_description_tokens": None, "fold_families": False, "cutoff_len": 2048, "sql_answer_tokens": 256}


def slicing_arguments(args: InferenceArguments) -> ConvertArguments:
    """The conversion settings that decide units, slices and prompts; they must match training.

    Without ``--dataset`` the settings only a manifest records take the converter's defaults.
    """
    extra: dict[str, object] = {}
    if args.dataset:
        recorded = load_manifest(args.dataset).inference
        extra = {k: recorded.get(k, default) for k, default in MANIFEST_ONLY.items()}
    return ConvertArguments(
        tables_per_slice=[args.tables_per_slice] if args.tables_per_slice else [],
        tokens_per_slice=args.tokens_per_slice,
        sample_values=args.sample_values,
        templates_dir=args.templates_dir,
        tokenizer=args.tokenizer,
        descriptions=args.descriptions,
        prompt_layout=args.prompt_layout,
        **extra,
    )


def engine_from_arguments(args: InferenceArguments) -> GenerationEngine:
    if args.engine == "openai":
        from lrsql_plugin.inference.engines.openai_api import local_encoder

        sql_base = args.sql_api_base or args.api_base
        return build_engine(
            "openai",
            endpoints={SCHEMA_LINK: (args.api_base, SCHEMA_LINK), SQL_GENERATION: (sql_base, SQL_GENERATION)},
            concurrency=args.concurrency,
            encoder=local_encoder(args.template, args.base or args.tokenizer),  # prompts rendered here, sent as ids
        )
    if not args.template:
        raise InputError("--template", f"the {args.engine} engine needs the LLaMA-Factory chat template of training")
    adapters = {} if args.link_only else {SQL_GENERATION: args.sql_adapter}
    if not args.gold_tables:
        adapters = {SCHEMA_LINK: args.schema_link_adapter, **adapters}
    kwargs: dict[str, object] = {"dtype": args.dtype}
    if args.engine == "hf":
        kwargs.update(batch_size=args.batch_size, batch_tokens=args.batch_tokens, share_prefix=args.share_prefix)
    return build_engine(args.engine, base=args.base, adapters=adapters, template=args.template, **kwargs)


def inference_questions(data: SourceData, limit: int | None) -> list[InferenceQuestion]:
    """One question per example, indexed by position; gold tables as the example gives them (Spider 2.0),
    else where the gold SQL allows (None for a question without SQL)."""
    out = []
    for i, ex in enumerate(data.examples[:limit] if limit else data.examples):
        gold: tuple[str, ...] | None = None
        if ex.gold_tables is not None:
            gold = tuple(ex.gold_tables)
        elif ex.sql:
            try:
                gold = tuple(example_gold_tables(ex, data.databases[ex.db_id]))
            except GoldTableError:
                gold = None
        out.append(InferenceQuestion(i, ex.db_id, ex.question, ex.evidence, gold))
    return out


class InferenceSetup:
    """What turns ``data``'s databases into the training prompts: the conversion settings, the token
    counter, a schema context per database (built on first use) and, for a merged conversion, the
    link space of each member database.  ``pipeline(engine)`` gives the two-stage pipeline over them;
    ``run_inference`` and ``lrsql_plugin.inference.predictor.Predictor`` share it.

    ``data.databases`` may grow after construction (the predictor reads a database on its first
    question); the pipeline sees the same dictionary.
    """

    def __init__(self, data: SourceData, args: InferenceArguments) -> None:
        self.data, self.args = data, args
        self.conv = slicing_arguments(args)
        self.counter = load_token_counter(self.conv.tokenizer)
        self.base = PromptRenderer(self.conv.templates_dir, layout=self.conv.prompt_layout)
        self.contexts: dict[str, SchemaContext] = {}
        self.spaces = merged_link_spaces(data, args, self.conv, self.counter, self.base)
        self.dropped: dict[int, list[str]] = {}  # merged mode: question index -> linked tables of other members

    def context(self, db_id: str) -> SchemaContext:
        if db_id not in self.contexts:
            db = self.data.databases[db_id]
            self.contexts[db_id] = SchemaContext(db, database_renderer(self.base, db, self.data, self.conv), self.conv, self.counter)
        return self.contexts[db_id]

    def check_databases(self, db_ids: Sequence[str] | set[str]) -> None:
        """In a merged conversion every question's database must be a member of a pseudo-database."""
        if not self.spaces:
            return
        outside = sorted(set(db_ids) - set(self.spaces))
        if outside:
            raise InputError(
                str(Path(str(self.args.dataset)) / MANIFEST),
                f"{len(outside)} question database(s) are in none of the conversion's pseudo-databases: {', '.join(outside)}",
            )

    def _map_to_own(self, q: InferenceQuestion, names: list[str]) -> list[str]:
        own, others = self.spaces[q.db_id][0].to_own(names, q.db_id)
        self.dropped[q.index] = others
        return own

    def pipeline(self, engine: GenerationEngine) -> TwoStagePipeline:
        args, spaces = self.args, self.spaces
        return TwoStagePipeline(
            engine,
            self.data.databases,
            lambda d: self.context(d).renderer,
            lambda d: self.context(d).slicings()[0],
            PipelineSettings(
                args.link_max_new_tokens, args.sql_max_new_tokens, args.gold_tables, args.link_only, args.full_schema_link,
                sql_prompt_tokens=self.conv.sql_prompt_tokens,
            ),
            link_context=(lambda q: spaces[q.db_id][1]) if spaces else None,
            map_linked=self._map_to_own if spaces else None,
            view_for=lambda d: self.context(d).view,
            counter=self.counter,
        )

    def apply_cutoff(self, engine: GenerationEngine) -> object | None:
        """The engine's prompt encoder (hf, vllm; None for others), set to cut prompts longer than the
        conversion's cutoff_len as LLaMA-Factory cut them in training (only with ``--dataset``)."""
        encoder = getattr(engine, "encoder", None)
        if encoder is not None and self.args.dataset and hasattr(encoder, "cutoff_len"):
            encoder.cutoff_len = self.conv.cutoff_len
        return encoder

    def finish(self, predictions: Sequence[Prediction]) -> None:
        """Merged mode: record on each prediction the linked tables of other member databases (dropped)."""
        for p in predictions:
            if p.link_schema is not None:
                p.other_member_tables = self.dropped.pop(p.index, [])


def run_inference(
    data: SourceData,
    args: InferenceArguments,
    out_dir: str | Path,
    engine: GenerationEngine | None = None,
    progress: bool = True,
) -> list[dict]:
    """Predict SQL for ``data``'s examples; returns the prediction records in input order."""
    questions = inference_questions(data, args.limit)
    setup = InferenceSetup(data, args)
    setup.check_databases({q.db_id for q in questions})
    check_resume_settings(Path(out_dir), args)
    store = PredictionStore(out_dir, resume=args.resume)
    todo = [q for q in questions if q.index not in store.done]
    engine = engine or engine_from_arguments(args)
    encoder = setup.apply_cutoff(engine)
    pipeline = setup.pipeline(engine)
    bar = tqdm(total=len(questions), initial=len(questions) - len(todo), desc="lrsql-eval inference", unit="q", disable=not progress)
    # A chunk is scheduled as a whole (each stage's prompts go to the engine together, which batches
    # them by length) and appended to predictions.jsonl when done: the unit of --resume.
    for start in range(0, len(todo), args.chunk_size):
        chunk = todo[start : start + args.chunk_size]
        predictions = sorted(pipeline.run_batch(chunk), key=lambda p: p.index)
        setup.finish(predictions)
        store.append(predictions)
        bar.update(len(chunk))
    bar.close()
    if encoder is not None and encoder.cutoff_len:
        cut = dict(getattr(encoder, "truncated", {}))
        atomic_write_text(Path(out_dir) / "truncation.json", json.dumps(
            {"cutoff_len": encoder.cutoff_len, "truncated_prompts": cut}, indent=2) + "\n")
        if any(cut.values()):
            print(f"lrsql-eval: {sum(cut.values())} prompts longer than cutoff_len {encoder.cutoff_len} were cut as "
                  f"LLaMA-Factory cut them in training ({', '.join(f'{k}: {v}' for k, v in cut.items())})")
    records = sorted(store.records, key=lambda r: r["index"])
    write_pred_sql(Path(out_dir) / "pred.sql", [r["sql"] for r in records])
    return records


def run_bm25_linking(
    data: SourceData, args: InferenceArguments, out_dir: str | Path, progress: bool = True
) -> list[dict]:
    """The BM25 baseline linker (``--link-only --linker bm25``): no model; each question links the
    top ``args.top_k`` tables of its (family-folded) database's BM25 ranking.

    Writes predictions.jsonl (the model linker's record keys, plus ``"linker": "bm25"`` and the whole
    ``ranking`` as ``[name, score]`` pairs, best first) and timings.jsonl; returns the records in order.
    The ranking is deterministic and fast, so ``--resume`` simply recomputes it.
    """
    import time

    from lrsql_plugin.context.families import fold_families
    from lrsql_plugin.context.ranking import TableRanker

    check_resume_settings(Path(out_dir), args)
    rankers: dict[str, TableRanker] = {}
    records, timings = [], []
    questions = inference_questions(data, args.limit)
    for q in tqdm(questions, desc="lrsql-eval bm25 linking", unit="q", disable=not progress):
        t0 = time.perf_counter()
        if q.db_id not in rankers:
            rankers[q.db_id] = TableRanker(fold_families(data.databases[q.db_id]).database.tables)
        ranking = rankers[q.db_id].rank(q.question, q.evidence)
        linked = [name for name, _ in ranking[: args.top_k]]
        p = Prediction(q.index, q.db_id, q.question, slices=[], link_answers=[], linked_tables=linked,
                       fallback=False, sql_answer="", sql="")
        records.append({**p.record(), "linker": "bm25", "ranking": [[n, s] for n, s in ranking]})
        timings.append({"index": q.index, "link": time.perf_counter() - t0})
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "predictions.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    atomic_write_text(out / "timings.jsonl", "".join(json.dumps(t) + "\n" for t in timings))
    return records


def merged_link_spaces(
    data: SourceData, args: InferenceArguments, conv: ConvertArguments, counter: TokenCounter, base: PromptRenderer
) -> dict[str, tuple[PseudoDatabase, LinkContext]]:
    """db_id -> (its pseudo-database, the link context: merged schema, renderer, the conversion's canonical slicing).

    Empty unless ``args.dataset`` names a merged conversion.  The pseudo-databases are rebuilt from the
    schema file once and checked against the manifest; the slicing is the manifest's own.
    """
    if not args.dataset:
        return {}
    manifest = load_manifest(args.dataset)
    out: dict[str, tuple[PseudoDatabase, LinkContext]] = {}
    for pseudo, slicing in manifest.pseudo_databases(data.databases):
        ctx = pseudo_context(data, conv, pseudo, counter, base)
        known = {n.lower() for n in ctx.view.units.table_names}
        if sorted(t.lower() for s in slicing.slices for t in s) != sorted(known):
            raise InputError(str(manifest.path), f"the slicing of {pseudo.name!r} does not cover its link units")
        link = LinkContext(ctx.view.units, ctx.renderer, slicing, ctx.view)
        for db_id in pseudo.members:
            out[db_id] = (ctx.pseudo, link)
    return out


RUN_SETTINGS = "inference_settings.json"
# Settings that may change between an interrupted run and its --resume without changing the results.
RESUMABLE_CHANGES = ("resume", "limit", "concurrency")


def check_resume_settings(out_dir: Path, args: InferenceArguments) -> None:
    """Record the run's settings; a --resume with other settings would mix two runs, so it is refused."""
    current = {k: v for k, v in asdict(args).items() if k not in RESUMABLE_CHANGES}
    path = out_dir / RUN_SETTINGS
    if args.resume and path.is_file():
        previous = json.loads(path.read_text(encoding="utf-8"))
        changed = sorted(k for k in current.keys() | previous.keys() if current.get(k) != previous.get(k))
        if changed:
            raise InputError(str(path), f"cannot resume: settings differ from the interrupted run ({', '.join(changed)})")
    atomic_write_text(path, json.dumps(current, indent=2) + "\n")


def write_pred_sql(path: Path, sqls: Sequence[str]) -> None:
    """The official one-statement-per-line prediction file (an empty answer becomes ``SELECT``).

    Each statement is put on one line by ``single_line_sql``: string literals are kept exactly, a line
    break inside one written as ``char(10)`` concatenation (same value in SQLite).  A statement that
    cannot be written on one line (a line break inside a quoted name) is written as ``SELECT``, said
    once on stderr; ``predictions.jsonl`` keeps it as predicted.
    """
    import sys

    from lrsql_plugin.inference.sql_extract import single_line_sql

    lines, unwritable = [], []
    for n, s in enumerate(sqls, start=1):
        try:
            lines.append(single_line_sql(s) or "SELECT")
        except ValueError:
            lines.append("SELECT")
            unwritable.append(n)
    atomic_write_text(path, "".join(line + "\n" for line in lines))
    if unwritable:
        print(f"lrsql-eval: {len(unwritable)} predicted statements hold a line break inside a quoted name and "
              f"cannot be written on one line; {path.name} has SELECT on lines "
              f"{', '.join(map(str, unwritable[:10]))}{' ...' if len(unwritable) > 10 else ''}", file=sys.stderr)


def load_predictions(path: str | Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
