"""``lrsql-eval``: execution accuracy of given predictions, a drop-in for the official Spider script,
and — with ``--base`` or ``--api-base`` — two-stage LR-SQL inference with the trained adapters first.

    lrsql-eval --gold gold.txt --pred pred.txt --db database/ --table tables.json --etype exec --out results/
    lrsql-eval --base Qwen/Qwen2.5-Coder-7B-Instruct --schema-link-adapter saves/schema_link \
               --sql-adapter saves/sql_generation --spider-dir ~/data/spider --out results/
    lrsql-eval --link-only --linker bm25 --top-k 10 --spider2-dir ~/data/spider2-lite --out results/

Evaluating prediction files imports no torch / transformers / datasets / LLaMA-Factory.  Code that
produces predictions first (inference) builds ``EvalItem``s and calls ``evaluate_and_write``.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import click

from lrsql_plugin.cli.guards import check_output_dir, guarded_command, remove_outputs
from lrsql_plugin.cli.options import dataclass_options, values_given
from lrsql_plugin.errors import InputError
from lrsql_plugin.evaluation.coverage import Coverage, add_evaluation
from lrsql_plugin.evaluation.evaluate import EvalResult, evaluate
from lrsql_plugin.evaluation.inputs import EvalItem, pair, read_gold, read_jsonl, read_predictions
from lrsql_plugin.evaluation.link_report import format_linking, linking_summary, predicted_link_tables
from lrsql_plugin.evaluation.report import (
    OUTPUT_FILES,
    fallback_stats,
    gold_error_reasons,
    official_table,
    summary_table,
    write_report,
)
from lrsql_plugin.hparams.eval_args import GOLD_ERROR_LIMIT, EvalArguments
from lrsql_plugin.hparams.infer_args import InferenceArguments
from lrsql_plugin.schema.model import Database
from lrsql_plugin.sources.spider_tables import load_tables_json

# What inference writes into --out besides the evaluation's OUTPUT_FILES (inference/run.py, inference/store.py).
INFERENCE_FILES = ("predictions.jsonl", "timings.jsonl", "pred.sql", "inference_settings.json", "linking.png")


@dataclass(frozen=True)
class DataPaths:
    """Where gold, databases and schemas are, after --spider-dir / --bird-dir defaults are applied."""

    db_root: Path
    tables: Path | None
    gold: Path | None


def resolve_paths(
    db: Path | None, table: Path | None, gold: Path | None, spider_dir: Path | None, bird_dir: Path | None
) -> DataPaths:
    """Explicit flags win; --spider-dir gives DIR/database, DIR/tables.json, DIR/dev.json; --bird-dir gives
    DIR/dev_databases, DIR/dev_tables.json, DIR/dev.json."""
    if spider_dir and bird_dir:
        raise click.UsageError("give --spider-dir or --bird-dir, not both")
    if spider_dir:
        defaults = (spider_dir / "database", spider_dir / "tables.json", spider_dir / "dev.json")
    elif bird_dir:
        defaults = (bird_dir / "dev_databases", bird_dir / "dev_tables.json", bird_dir / "dev.json")
    else:
        defaults = (None, None, None)
    db_root = db or defaults[0]
    if db_root is None:
        raise click.UsageError("give the databases with --db, --spider-dir or --bird-dir")
    tables = table or (defaults[1] if defaults[1] and defaults[1].is_file() else None)
    return DataPaths(db_root=db_root, tables=tables, gold=gold or defaults[2])


def load_items(paths: DataPaths, pred: Path | None, jsonl: Path | None) -> list[EvalItem]:
    """Items from --jsonl, or from the gold file paired with --pred."""
    if jsonl:
        if pred:
            raise click.UsageError("give --jsonl or --pred, not both")
        return read_jsonl(jsonl)
    if pred is None:
        raise click.UsageError("give predictions with --pred (with --gold, --spider-dir or --bird-dir) or --jsonl")
    if paths.gold is None:
        raise click.UsageError("give the gold queries with --gold, --spider-dir or --bird-dir")
    return pair(read_gold(paths.gold), paths.gold, read_predictions(pred), pred)


def evaluate_and_write(
    items: Sequence[EvalItem],
    db_root: Path,
    settings: EvalArguments,
    out_dir: Path | None,
    *,
    schemas: Mapping[str, Database] | None = None,
    tables_file: Path | None = None,
    flags: Mapping[str, object] | None = None,
    progress: bool = True,
    replace: Sequence[str] = (),
    extra_metrics: Mapping[str, object] | None = None,
    extra_markdown: Sequence[str] = (),
    coverage: Coverage | None = None,
    not_evaluated: Mapping[str, int] | None = None,
) -> EvalResult:
    """Score the items, write the outputs into ``out_dir`` (if given) and print the summary table
    (and, with EM, the official layout).

    Raises InputError before anything is written when a db_id is unknown, a database is missing (unless
    ``settings.skip_missing_db``) or broken.  When more than GOLD_ERROR_LIMIT of the questions have a
    failing gold query, the outputs are written, the failures listed on stderr, and the process exits
    with code 3 unless ``settings.allow_gold_errors``.

    ``coverage`` (inference) accounts for every question record read: it gets the EX / EM / linking
    denominators of this evaluation (``not_evaluated``: predicted questions not among ``items``, by
    reason), is printed and goes into metrics.json (``questions``) and report.md.
    """
    result = evaluate(
        items, db_root, settings, schemas=schemas, tables_file=tables_file or "tables.json", progress=progress
    )
    if coverage is not None:
        add_evaluation(coverage, result, not_evaluated or {})
        extra_metrics = {**(extra_metrics or {}), "questions": coverage.as_dict()}
        extra_markdown = [*extra_markdown, "", *coverage.markdown()]
    if out_dir and replace:
        remove_outputs(Path(out_dir), replace)  # --overwrite: no file of the earlier run stays beside the new ones
    written = write_report(result, out_dir, flags, extra_metrics, extra_markdown) if out_dir else {}
    s = result.settings
    click.echo(
        f"semantics={s.semantics} distinct_removed={s.removes_distinct} timeout={s.timeout:g}s "
        f"max_rows={s.max_rows} workers={s.workers} databases={len(result.databases)} ({result.db_root})"
    )
    click.echo(summary_table(result))
    if s.computes_em and s.semantics == "spider":
        click.echo(official_table(result))
    if s.computes_ex:
        ex = "n/a" if result.ex is None else f"{100 * result.ex:.2f}%"
        click.echo(f"EX {ex} over {result.overall.scored} scored questions; {len(result.gold_errors)} gold error(s) excluded")
        if result.gold_errors:
            click.echo("gold errors by reason: " + ", ".join(f"{r}: {n}" for r, n in gold_error_reasons(result).items()))
    if s.computes_em:
        em = "n/a" if result.overall.em is None else f"{100 * result.overall.em:.2f}%"
        click.echo(f"EM {em} over {result.overall.em_scored} questions; "
                   f"{len(result.em_gold_errors)} gold quer(ies) outside the official grammar excluded")
    fb = fallback_stats(result)
    if fb["recorded"]:
        click.echo(f"full-schema fallback: {fb['count']} of {fb['recorded']} questions ({100 * fb['rate']:.1f}%)")
    if result.skipped_missing:
        click.echo(f"--skip-missing-db: {result.skipped_count} question(s) left out, no database for "
                   + ", ".join(f"{d} ({len(v)})" for d, v in sorted(result.skipped_missing.items())))
    if result.linking is not None:
        link = result.linking
        click.echo(
            f"linking over {link.count}: exact {100 * link.exact_set_accuracy:.2f}%  recall-1 {100 * link.recall1_rate:.2f}%  "
            f"avg precision {100 * link.avg_precision:.2f}%  avg recall {100 * link.avg_recall:.2f}%"
        )
    if coverage is not None:
        click.echo("\n".join(coverage.lines()))
    if written:
        click.echo(f"wrote {', '.join(str(p) for p in written.values())}")
    if s.computes_ex and result.gold_error_rate > GOLD_ERROR_LIMIT and not s.allow_gold_errors:
        lines = [f"  index {e.index} ({e.item.db_id}; {e.item.source}, {e.item.record}): {e.message}" for e in result.gold_errors]
        click.echo(
            f"lrsql-eval: error: {len(result.gold_errors)} of {len(result.examples)} questions "
            f"({100 * result.gold_error_rate:.1f}%, more than {GOLD_ERROR_LIMIT:.0%}) have a failing gold query; "
            "EX would be computed on the rest only. Fix the gold or the databases, or pass --allow-gold-errors. "
            "Failing gold queries:\n" + "\n".join(lines), err=True,
        )
        sys.exit(EXIT_GOLD_ERRORS)
    return result


_PATH = click.Path(path_type=Path)
EXIT_GOLD_ERRORS = 3  # too many gold queries fail (see --allow-gold-errors)


# InferenceArguments field -> click parameter name of lrsql-eval, where they differ.
_PARAM_NAMES = {"tokenizer": "slice_tokenizer", "gold_tables": "use_gold_tables"}


# Every setting is an option generated from its EvalArguments / InferenceArguments field (declared
# there once: flag, default, help); the options declared here say where the data are.
@click.command(cls=guarded_command("lrsql-eval"), context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--gold", type=_PATH, help="Gold file: 'SQL<TAB>db_id' per line, or a Spider/BIRD dev.json.")
@click.option("--pred", type=_PATH, help="Predictions: one SQL per line, or BIRD's prediction JSON.")
@click.option("--db", type=_PATH, help="Database folder holding <db_id>/*.sqlite.")
@click.option("--table", type=_PATH, help="tables.json; db_ids not in it are rejected.")
@click.option("--out", type=_PATH, help="Output folder for metrics.json, per_example.jsonl, report.md and the chart.")
@click.option("--jsonl", type=_PATH, help="Our JSONL: {db_id, question, gold, prediction, predicted_tables?, gold_tables?}.")
@click.option("--spider-dir", type=_PATH, help="Spider folder: database/, tables.json and dev.json as defaults.")
@click.option("--bird-dir", type=_PATH, help="BIRD dev folder: dev_databases/, dev_tables.json, dev.json; implies --semantics bird.")
@click.option("--spider2-dir", type=_PATH, help="Spider 2.0-lite folder (questions, gold tables, resource/): "
              "gold tables without SQL or database files; SQL is predicted, not executed.")
@click.option("--db-dir", type=_PATH, help="Inference on an `lrsql-convert sqlite` conversion: folder of <db_id>.sqlite "
              "or <db_id>/<db_id>.sqlite files; questions from --questions.")
@click.option("--ddl-dir", type=_PATH, help="Inference on an `lrsql-convert ddl` conversion: folder of <db_id>.sql "
              "schema dumps; questions from --questions; SQL is predicted, not executed.")
@click.option("--dialect", help="--ddl-dir: SQL dialect of the dumps (default: the conversion's).")
@click.option("--split", type=click.Choice(["train", "dev"]), default="dev", show_default=True,
              help="Inference: which split of --spider-dir / --bird-dir to predict.")
@click.option("--questions", type=_PATH, help="Inference: question file instead of the split's (e.g. Spider-DK.json).")
@dataclass_options(EvalArguments)
@click.option("--progress/--no-progress", default=True, help="Show a progress bar on stderr.")
@click.option("--progress_bar_for_each_datapoint", "progress_each", is_flag=True,
              help="Accepted for the official command line: shows the progress bar.")
@dataclass_options(InferenceArguments, params=_PARAM_NAMES)
@click.option("--overwrite", is_flag=True, help="Replace the files of an earlier run in --out (refused otherwise).")
def main(
    gold: Path | None, pred: Path | None, db: Path | None, table: Path | None, out: Path | None,
    jsonl: Path | None, spider_dir: Path | None, bird_dir: Path | None, progress: bool, progress_each: bool,
    **inference: object,
) -> None:
    """Execution accuracy (EX) of SQL predictions, with hardness buckets and safe, time-limited execution.

    With --base (hf, vllm) or --api-base (openai) it first runs LR-SQL's two-stage inference on the
    questions of --spider-dir / --bird-dir and writes predictions.jsonl, timings.jsonl and pred.sql.
    """
    evaluation = {f.name: inference.pop(f.name) for f in fields(EvalArguments)}
    evaluation["semantics"] = evaluation["semantics"] or ("bird" if bird_dir else "spider")
    try:
        settings = EvalArguments(**values_given(EvalArguments, evaluation))
    except ValueError as e:
        raise click.UsageError(str(e)) from e
    progress = progress or progress_each
    # the flags given on the command line; reports add the settings in effect (defaults and the manifest's)
    given_names = explicit_parameters()
    flags = {k: str(v) if isinstance(v, Path) else v for k, v in click.get_current_context().params.items()
             if v is not None and k in given_names}
    overwrite, resume = bool(inference.pop("overwrite")), bool(inference["resume"])
    if overwrite and resume:
        raise click.UsageError("give --resume (continue the run in --out) or --overwrite (start it afresh), not both")
    if inference["linker"] == "bm25" and not inference["link_only"]:
        raise click.UsageError("--linker bm25 ranks tables without a model; it runs with --link-only")
    if out is not None:  # before any input is read or model loaded
        check_output_dir(out, INFERENCE_FILES + OUTPUT_FILES, overwrite=overwrite, resume=resume)
    if any(inference[k] for k in ("base", "api_base", "schema_link_adapter", "sql_adapter", "dataset", "link_only")):
        return run_inference_then_evaluate(spider_dir, bird_dir, db, out, settings, flags, progress, inference)
    if inference["db_dir"] or inference["ddl_dir"] or inference["spider2_dir"]:
        raise click.UsageError("--db-dir, --ddl-dir and --spider2-dir name the questions of inference (with --base, "
                               "--api-base or --dataset); to score prediction files give --db")
    try:
        paths = resolve_paths(db, table, gold, spider_dir, bird_dir)
        items = load_items(paths, pred, jsonl)
        if settings.computes_em and paths.tables is None:
            raise click.UsageError(f"--etype {settings.etype} computes exact-set match, which needs the schemas: give --table (or --spider-dir)")
        schemas = load_tables_json(paths.tables) if paths.tables else None
        evaluate_and_write(
            items, paths.db_root, settings, out, schemas=schemas, tables_file=paths.tables, flags=flags, progress=progress,
            replace=INFERENCE_FILES if overwrite else (),
        )
    except InputError as e:
        click.echo(f"lrsql-eval: error: {e}", err=True)
        sys.exit(2)


def run_inference_then_evaluate(
    spider_dir: Path | None,
    bird_dir: Path | None,
    db: Path | None,
    out: Path | None,
    settings: EvalArguments,
    flags: Mapping[str, object],
    progress: bool,
    opts: Mapping[str, object],
) -> None:
    """Two-stage inference over the questions of one source (Spider, BIRD, a folder of SQLite files, schema
    dumps, Spider 2.0), or linking alone, then the same evaluation as for prediction files.

    Questions without gold SQL are predicted and not scored; where the source has no database files
    (schema dumps, Spider 2.0) the SQL is predicted and not executed.  Every record read is accounted
    for (``lrsql_plugin.evaluation.coverage``): predicted or not, scored or not, by reason."""
    from lrsql_plugin.errors import LrsqlError

    spider2_dir = opts["spider2_dir"]
    if out is None:
        raise click.UsageError("inference needs --out (predictions are written there as they complete)")
    locations = source_locations(spider_dir, bird_dir, opts)
    given = {k: str(v) if isinstance(v, Path) else v for k, v in values_given(InferenceArguments, opts, _PARAM_NAMES).items()}
    try:
        explicit = explicit_parameters()
        given = settings_from_dataset_and_adapters(given, explicit)
        args = InferenceArguments(**given)
        flags = {**flags, **{k: v for k, v in asdict(args).items() if v is not None}}  # the settings in effect
    except InputError as e:
        click.echo(f"lrsql-eval: error: {e}", err=True)
        sys.exit(2)
    except ValueError as e:
        raise click.UsageError(str(e)) from e
    from lrsql_plugin.inference.preflight import check_inference_models

    if args.linker == "model":
        check_inference_models(args)  # ModelPathError (exit 2) before any data or model is loaded
    if (not args.dataset and args.linker == "model" and not args.gold_tables
            and not explicit & {"tables_per_slice", "tokens_per_slice"}):
        raise click.UsageError(
            "inference does not guess the slicing: give the conversion folder (--dataset DIR), or the "
            "conversion's --tables-per-slice / --tokens-per-slice (and --tokenizer, --sample-values, "
            "--templates-dir where the conversion used them)"
        )
    try:
        from lrsql_plugin.evaluation.coverage import (
            NO_SQL,
            Coverage,
            linking_metric,
            not_executable,
            write_coverage_report,
        )
        from lrsql_plugin.inference.run import run_bm25_linking, run_inference

        data = load_question_source(locations, opts)
        examples = data.examples[: args.limit] if args.limit else data.examples
        with_sql = sum(bool(ex.sql) for ex in examples)
        db_root = db or data.db_root
        if db_root is None and data.executable and with_sql and not args.link_only:
            raise InputError(str(spider_dir or bird_dir), "no database folder; give --db (or --link-only)")
        if args.linker == "bm25":
            records = run_bm25_linking(data, args, out, progress=progress)
        else:
            records = run_inference(data, args, out, progress=progress)
        gold = link_gold_by_index(data, args)
        fold_predicted(records, data, args)
        coverage = Coverage.of(len(data.examples), data.skipped, args.limit)
        if args.link_only or not data.executable or not with_sql:
            from lrsql_plugin.evaluation.link_report import (
                format_by_group,
                linking_by_group,
                write_link_report,
            )

            if not args.gold_tables:
                linking_metric(coverage, examples, gold)
            if not args.link_only:
                if not data.executable:
                    coverage.add("EX", 0, {not_executable(data.name): with_sql, NO_SQL: len(examples) - with_sql})
                    coverage.notes.append(f"evaluation skipped: the {data.name} source has no database files; "
                                          f"SQL predicted (pred.sql), not executed")
                else:
                    coverage.add("EX", 0, {NO_SQL: len(examples)})
                    coverage.notes.append(f"evaluation skipped: none of the {len(examples)} predicted questions has gold SQL; "
                                          f"predictions in {Path(out) / 'predictions.jsonl'} and {Path(out) / 'pred.sql'}")
            linked_and_gold = not args.gold_tables and any(g is not None for g in gold.values())
            if not args.link_only and not linked_and_gold:  # no linking metric either: the accounting alone
                written = write_coverage_report(out, coverage, {**flags, **asdict(args)})
            else:
                engines = engine_by_index(examples, force=bool(spider2_dir))
                notes = link_source_notes(data, examples, gold, spider2=bool(spider2_dir))
                written = write_link_report(out, records, gold, {**flags, **asdict(args)}, engines,
                                            [*notes, *coverage.lines()])
                add_coverage_to_metrics(Path(out) / "metrics.json", coverage)
                click.echo("\n".join(format_linking(linking_summary(records, gold))))
                if engines:
                    click.echo("\n".join(format_by_group(linking_by_group(records, gold, engines))))
            click.echo("\n".join(coverage.lines()))
            click.echo(f"wrote {', '.join(str(p) for p in written.values())}")
            return
        pairs = [(ex, rec) for ex, rec in zip(examples, records) if ex.sql]
        items = [
            EvalItem(
                db_id=ex.db_id, gold=ex.sql, prediction=rec["sql"], question=ex.question, difficulty=ex.difficulty,
                predicted_tables=None if args.gold_tables else tuple(predicted_link_tables(rec)),
                gold_tables=None if gold[rec["index"]] is None else tuple(gold[rec["index"]]),
                fallback=None if args.gold_tables else bool(rec.get("fallback")),
                source=ex.source_file, record=f"record {ex.index + 1}",
            )
            for ex, rec in pairs
        ]
        extra_metrics, extra_markdown = {}, []
        if any(r.get("link_schema") for r in records) and not args.gold_tables:
            summary = linking_summary(records, gold)
            extra_metrics = {"pseudo_database_linking": summary}
            extra_markdown = ["", "## Linking inside the pseudo-database (merged names)", "",
                              *format_linking({**summary, "merged": True})]
        evaluate_and_write(items, Path(db_root), settings, out, schemas=data.databases, flags=flags, progress=progress,
                           extra_metrics=extra_metrics, extra_markdown=extra_markdown,
                           coverage=coverage, not_evaluated={NO_SQL: len(examples) - len(pairs)})
    except LrsqlError as e:
        click.echo(f"lrsql-eval: error: {e}", err=True)
        sys.exit(2)


# Each source's location flag (the manifest's "source" names the source of a conversion).
SOURCE_FLAGS = {"spider": "--spider-dir", "bird": "--bird-dir", "sqlite": "--db-dir", "ddl": "--ddl-dir",
                "spider2": "--spider2-dir"}


def source_locations(spider_dir: Path | None, bird_dir: Path | None, opts: Mapping[str, object]) -> dict[str, Path]:
    """The one source location given (source name -> folder); a UsageError naming the flags otherwise,
    with the flag of the conversion's own source when ``--dataset`` names one."""
    given = {"spider": spider_dir, "bird": bird_dir, "sqlite": opts.get("db_dir"), "ddl": opts.get("ddl_dir"),
             "spider2": opts.get("spider2_dir")}
    chosen = {k: Path(str(v)) for k, v in given.items() if v}
    if len(chosen) == 1:
        return chosen
    message = f"inference reads questions from exactly one of {', '.join(SOURCE_FLAGS.values())}"
    if chosen:
        message += f"; got {', '.join(SOURCE_FLAGS[k] for k in chosen)}"
    elif opts.get("dataset"):
        from lrsql_plugin.manifest import load_manifest

        try:
            source = load_manifest(str(opts["dataset"])).data.get("source")
        except InputError:
            source = None
        if source in SOURCE_FLAGS:
            message += f"; the conversion {opts['dataset']} was made from the {source} source: give {SOURCE_FLAGS[source]}"
    raise click.UsageError(message)


def conversion_dialect(dataset: object) -> str | None:
    """The SQL dialect a conversion recorded: the manifest's, else that of its converted questions."""
    if not dataset:
        return None
    import json

    from lrsql_plugin.manifest import load_manifest

    data = load_manifest(str(dataset)).data
    for found in (data.get("dialect"), (data.get("settings") or {}).get("dialect")):
        if isinstance(found, str) and found:
            return found
    questions = Path(str(dataset)) / "questions.jsonl"
    if questions.is_file():
        with questions.open(encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    found = json.loads(line).get("dialect")
                    return found if isinstance(found, str) and found else None
    return None


def load_question_source(locations: Mapping[str, Path], opts: Mapping[str, object]) -> object:
    """Schemas and questions of the source in ``locations`` (one entry), questions without gold SQL kept."""
    [(kind, where)] = locations.items()
    questions = opts.get("questions")
    if kind == "spider2":
        return load_spider2_source(where, questions)
    if kind == "spider":
        from lrsql_plugin.sources.spider import load_spider

        return load_spider(where, str(opts["split"]), [questions] if questions else None, sql_optional=True)
    if kind == "bird":
        from lrsql_plugin.sources.bird import load_bird

        return load_bird(where, str(opts["split"]), questions, sql_optional=True)
    if not questions:
        raise click.UsageError(f"{SOURCE_FLAGS[kind]} needs --questions: a JSONL (or JSON list) of "
                               "{db_id, question[, evidence][, sql]}")
    if kind == "sqlite":
        from lrsql_plugin.sources.sqlite_folder import load_sqlite_folder

        return load_sqlite_folder(where, questions, sql_optional=True)
    from lrsql_plugin.sources.ddl_dump import load_ddl_dir

    recorded = conversion_dialect(opts.get("dataset"))
    dialect = opts.get("dialect") or recorded
    if not dialect:
        raise click.UsageError("--ddl-dir needs --dialect (no conversion given with --dataset records one)")
    if recorded and opts.get("dialect") and opts["dialect"] != recorded:
        raise InputError(str(Path(str(opts["dataset"])) / "manifest.json"),
                         f"--dialect {opts['dialect']} conflicts with the conversion's dialect {recorded!r}")
    return load_ddl_dir(where, questions, str(dialect), sql_optional=True)


def add_coverage_to_metrics(path: Path, coverage: object) -> None:
    """Add the question accounting to a metrics.json already written."""
    import json

    from lrsql_plugin.files import atomic_write_text

    metrics = json.loads(path.read_text(encoding="utf-8"))
    metrics["questions"] = coverage.as_dict()
    atomic_write_text(path, json.dumps(metrics, indent=2, ensure_ascii=False) + "\n")


def explicit_parameters() -> set[str]:
    """Names of the parameters given on the command line (not defaults)."""
    ctx = click.get_current_context()
    return {name for name in ctx.params if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE}


def settings_from_dataset_and_adapters(given: dict[str, object], explicit: set[str]) -> dict[str, object]:
    """Fill inference settings from the conversion manifest (``--dataset``) and the adapters' saved
    training arguments; an explicitly given flag that disagrees is an InputError naming both values."""
    from lrsql_plugin.manifest import adapter_training_settings, apply_manifest, load_manifest

    out = dict(given)
    adapters = [str(out[o]) for o in ("schema_link_adapter", "sql_adapter") if out.get(o)]
    for option in ("schema_link_adapter", "sql_adapter"):
        saved = adapter_training_settings(out.get(option))  # type: ignore[arg-type]
        template = saved.get("template")
        if template and template != out.get("template"):
            if "template" in explicit or out.get("template_source"):
                raise InputError(
                    saved["template_source"], f"the adapter was trained with template {template!r}, but "
                    + (f"{out['template_source']} says" if out.get("template_source") else "--template is")
                    + f" {out['template']!r}; leave --template out to use the adapter's",
                )
            out["template"] = template
        if template:
            out.setdefault("template_source", saved["template_source"])
        if not out.get("base") and not out.get("api_base") and saved.get("base"):
            out["base"] = saved["base"]
    out.pop("template_source", None)
    if given.get("dataset"):  # after the adapters: the base model they name may hold the conversion's tokenizer
        named = {k for k in given if _PARAM_NAMES.get(k, k) in explicit}
        out = apply_manifest(load_manifest(str(given["dataset"])), out, named)
    if not out.get("template") and out.get("engine", "hf") != "openai" and out.get("linker", "model") == "model":
        raise InputError(
            ", ".join(adapters) or "--template", "no chat template is recorded for "
            f"{'these adapters' if adapters else 'the base model'} (llamafactory-cli train saves none; a training_args.yaml "
            "of LLaMA-Factory's web UI or lrsql_plugin.training.run_training would): give --template, the `template:` "
            "of the training recipe",
        )
    return out


def link_gold_by_index(data: object, args: object) -> dict[int, list[str] | None]:
    """Gold tables per question index, in the names of the schema each question links against
    (merged names when ``args.dataset`` is a merged conversion: the manifest's name map).

    Outside merged mode gold tables are folded (members of a family become the family), as are the
    predicted ones (``fold_predicted``): linking metrics count families."""
    from lrsql_plugin.context.families import fold_families
    from lrsql_plugin.inference.run import inference_questions
    from lrsql_plugin.manifest import load_manifest

    names = load_manifest(args.dataset).link_names() if args.dataset else {}
    folds: dict[str, object] = {}
    out: dict[int, list[str] | None] = {}
    for q in inference_questions(data, args.limit):
        if q.gold_tables is None:
            out[q.index] = None
            continue
        gold = [names.get((q.db_id, t.lower()), t) for t in q.gold_tables]
        if not names:  # outside merged mode linking is scored on families (a member counts as its family)
            if q.db_id not in folds:
                folds[q.db_id] = fold_families(data.databases[q.db_id])
            gold = folds[q.db_id].fold_names(gold)
        out[q.index] = gold
    return out


def fold_predicted(records: list[dict], data: object, args: object) -> None:
    """Outside merged mode, add ``linked_folded`` to each record: its linked tables with family members
    folded into their family (the names the linking metrics compare)."""
    if args.dataset and load_manifest_merged(args.dataset):
        return
    from lrsql_plugin.context.families import fold_families

    folds: dict[str, object] = {}
    for r in records:
        db = data.databases.get(r["db_id"])
        if db is None:
            continue
        if r["db_id"] not in folds:
            folds[r["db_id"]] = fold_families(db)
        r["linked_folded"] = folds[r["db_id"]].fold_names(list(r.get("linked_tables") or []))


def load_manifest_merged(dataset: object) -> bool:
    from lrsql_plugin.manifest import load_manifest

    return load_manifest(dataset).merged


def load_spider2_source(spider2_dir: Path, questions: object) -> object:
    """Spider 2.0-lite questions and schemas (``lrsql_plugin.sources.spider2``, imported only here)."""
    import importlib.util

    if importlib.util.find_spec("lrsql_plugin.sources.spider2") is None:
        raise click.UsageError("--spider2-dir needs lrsql_plugin.sources.spider2, which this installation lacks")
    from lrsql_plugin.sources.spider2 import load_spider2

    return load_spider2(spider2_dir, questions=questions, gold_optional=True)


def engine_by_index(examples: Sequence[object], force: bool = False) -> dict[int, str] | None:
    """Question index -> engine (the example's dialect) when the questions come from several engines
    (or ``force``: Spider 2.0); None otherwise."""
    engines = {i: ex.dialect for i, ex in enumerate(examples)}
    return engines if force or len(set(engines.values())) > 1 else None


def link_source_notes(data: object, examples: Sequence[object], gold: Mapping[int, object], spider2: bool) -> list[str]:
    """Report lines about where the questions and gold tables of a --link-only run come from."""
    notes = []
    if spider2:
        notes.append("source: Spider 2.0 (gold tables without SQL and without database files): "
                     "linking metrics only, EX is not computed")
    elif not getattr(data, "executable", True):
        notes.append(f"source: {data.name} (no database files): linking metrics only, EX is not computed")
    if any(ex.gold_tables is not None for ex in examples):
        notes.append("gold tables: as the source gives them, families folded (a member counts as its family)")
        from lrsql_plugin.context.families import fold_families

        folded = {d: fold_families(data.databases[d]).database for d in {ex.db_id for ex in examples}}
        unknown = [(i, t) for i, ex in enumerate(examples) for t in (gold.get(i) or [])
                   if folded[ex.db_id].table(t) is None and data.databases[ex.db_id].table(t) is None]
        if unknown:
            notes.append(f"gold tables not in the schema: {len(unknown)} mention(s) in "
                         f"{len({i for i, _ in unknown})} question(s) (they count as missed)")
    notes += list(getattr(data, "notes", []) or [])
    return notes

