"""``lrsql-eval``: execution accuracy of given predictions, a drop-in for the official Spider script.

    lrsql-eval --gold gold.txt --pred pred.txt --db database/ --table tables.json --etype exec --out results/

Evaluating prediction files imports no torch / transformers / datasets / LLaMA-Factory.  Code that
produces predictions first (inference) builds ``EvalItem``s and calls ``evaluate_and_write``.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import click

from lrsql_plugin.errors import InputError
from lrsql_plugin.evaluation.evaluate import EvalResult, evaluate
from lrsql_plugin.evaluation.inputs import EvalItem, pair, read_gold, read_jsonl, read_predictions
from lrsql_plugin.evaluation.report import summary_table, write_report
from lrsql_plugin.hparams.eval_args import DEFAULT_MAX_ROWS, SEMANTICS, EvalArguments
from lrsql_plugin.schema.model import Database
from lrsql_plugin.sources.spider_tables import load_tables_json


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
) -> EvalResult:
    """Score the items, write the outputs into ``out_dir`` (if given) and print the summary table.

    Raises InputError before anything is written when a db_id is unknown or its database is missing.
    """
    result = evaluate(
        items, db_root, settings, schemas=schemas, tables_file=tables_file or "tables.json", progress=progress
    )
    written = write_report(result, out_dir, flags) if out_dir else {}
    s = result.settings
    click.echo(
        f"semantics={s.semantics} distinct_removed={s.removes_distinct} timeout={s.timeout:g}s "
        f"max_rows={s.max_rows} workers={s.workers} databases={len(result.databases)} ({result.db_root})"
    )
    click.echo(summary_table(result))
    ex = "n/a" if result.ex is None else f"{100 * result.ex:.2f}%"
    click.echo(f"EX {ex} over {result.overall.scored} scored questions; {len(result.gold_errors)} gold error(s) excluded")
    if result.linking is not None:
        link = result.linking
        click.echo(
            f"linking over {link.count}: exact {100 * link.exact_set_accuracy:.2f}%  recall-1 {100 * link.recall1_rate:.2f}%  "
            f"avg precision {100 * link.avg_precision:.2f}%  avg recall {100 * link.avg_recall:.2f}%"
        )
    if written:
        click.echo(f"wrote {', '.join(str(p) for p in written.values())}")
    return result


_PATH = click.Path(path_type=Path)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--gold", type=_PATH, help="Gold file: 'SQL<TAB>db_id' per line, or a Spider/BIRD dev.json.")
@click.option("--pred", type=_PATH, help="Predictions: one SQL per line, or BIRD's prediction JSON.")
@click.option("--db", type=_PATH, help="Database folder holding <db_id>/*.sqlite.")
@click.option("--table", type=_PATH, help="tables.json; db_ids not in it are rejected.")
@click.option("--etype", type=click.Choice(["exec"]), default="exec", show_default=True,
              help="Evaluation type; only execution accuracy is computed (flag kept for the official command line).")
@click.option("--out", type=_PATH, help="Output folder for metrics.json, per_example.jsonl, report.md and the chart.")
@click.option("--jsonl", type=_PATH, help="Our JSONL: {db_id, question, gold, prediction, predicted_tables?, gold_tables?}.")
@click.option("--spider-dir", type=_PATH, help="Spider folder: database/, tables.json and dev.json as defaults.")
@click.option("--bird-dir", type=_PATH, help="BIRD dev folder: dev_databases/, dev_tables.json, dev.json; implies --semantics bird.")
@click.option("--semantics", type=click.Choice(SEMANTICS), help="EX semantics (default spider, bird with --bird-dir).")
@click.option("--keep-distinct", is_flag=True, help="Spider semantics: do not remove DISTINCT from the queries.")
@click.option("--timeout", type=float, default=30.0, show_default=True, help="Seconds per query before it is stopped.")
@click.option("--workers", type=int, help="Parallel workers [default: min(4, CPUs)].")
@click.option("--max-rows", type=int, default=DEFAULT_MAX_ROWS, show_default=True,
              help="Rows fetched per query at most.")
@click.option("--progress/--no-progress", default=True, help="Show a progress bar on stderr.")
def main(
    gold: Path | None, pred: Path | None, db: Path | None, table: Path | None, etype: str, out: Path | None,
    jsonl: Path | None, spider_dir: Path | None, bird_dir: Path | None, semantics: str | None,
    keep_distinct: bool, timeout: float, workers: int | None, max_rows: int, progress: bool,
) -> None:
    """Execution accuracy (EX) of SQL predictions, with hardness buckets and safe, time-limited execution."""
    try:
        settings = EvalArguments(
            semantics=semantics or ("bird" if bird_dir else "spider"), keep_distinct=keep_distinct, timeout=timeout,
            max_rows=max_rows, **({"workers": workers} if workers is not None else {}),
        )
    except ValueError as e:
        raise click.UsageError(str(e)) from e
    flags = {k: str(v) if isinstance(v, Path) else v for k, v in click.get_current_context().params.items() if v is not None}
    try:
        paths = resolve_paths(db, table, gold, spider_dir, bird_dir)
        items = load_items(paths, pred, jsonl)
        schemas = load_tables_json(paths.tables) if paths.tables else None
        evaluate_and_write(
            items, paths.db_root, settings, out, schemas=schemas, tables_file=paths.tables, flags=flags, progress=progress
        )
    except InputError as e:
        click.echo(f"lrsql-eval: error: {e}", err=True)
        sys.exit(2)
