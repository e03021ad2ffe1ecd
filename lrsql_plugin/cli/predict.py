"""``lrsql-predict``: ask your own database a question with the trained adapters.

    lrsql-predict --dataset datasets/mydb --db-dir databases/ --db-id shop \\
                  --base Qwen/Qwen2.5-Coder-7B-Instruct --schema-link-adapter saves/schema_link \\
                  --sql-adapter saves/sql_generation --question "How many orders came from Paris?" --execute
    printf 'question one\\nquestion two\\n' | lrsql-predict --dataset ... --db-dir ... --db-id shop ...

The base model and both adapters are loaded once (``lrsql_plugin.inference.predictor.Predictor``);
without ``--question`` every line of standard input is a question, answered as it arrives, until EOF.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from lrsql_plugin.cli.guards import guarded_command
from lrsql_plugin.cli.options import dataclass_options
from lrsql_plugin.errors import LrsqlError
from lrsql_plugin.hparams.infer_args import InferenceArguments

_PATH = click.Path(path_type=Path)


# The model and slicing settings are options generated from their InferenceArguments fields (declared
# there once); one left out is the conversion's (--dataset), the adapters' record or the field's default.
MODEL_SETTINGS = ("base", "schema_link_adapter", "sql_adapter", "template", "engine", "api_base", "sql_api_base", "dtype",
                  "tables_per_slice", "tokens_per_slice", "tokenizer", "prompt_layout", "share_prefix",
                  "link_max_new_tokens", "sql_max_new_tokens")


@click.command(cls=guarded_command("lrsql-predict"), context_settings={"help_option_names": ["-h", "--help"]})
@dataclass_options(InferenceArguments, only=("dataset",))
@click.option("--db-dir", required=True, type=_PATH, help="Folder of <db_id>.sqlite or <db_id>/<db_id>.sqlite files.")
@click.option("--db-id", required=True, help="The database the questions are about.")
@click.option("--question", help="The question; without it, one question per line of standard input until EOF.")
@click.option("--evidence", default="", help="Hint text given with every question (BIRD's evidence).")
@click.option("--execute", is_flag=True, help="Run the SQL read-only (the evaluator's guards, --timeout) and print the first rows.")
@click.option("--verbose", "-v", is_flag=True, help="Print each slice's tables and what was linked in it.")
# without --dataset the slicing must be given: no default slice size
# and the layout is the conversion's (--dataset) unless given
@dataclass_options(InferenceArguments, only=MODEL_SETTINGS, defaults={"tables_per_slice": None, "prompt_layout": None})
@click.option("--timeout", type=float, default=30.0, show_default=True, help="--execute: seconds before the query is stopped.")
@click.option("--rows", "max_rows", type=int, default=20, show_default=True, help="--execute: rows printed at most.")
def main(
    dataset: str | None, db_dir: Path, db_id: str, question: str | None, evidence: str, execute: bool, verbose: bool,
    timeout: float, max_rows: int, **model: object,
) -> None:
    """Predict the SQL of one question (or of each line of standard input) on your own SQLite database."""
    from lrsql_plugin.inference.predictor import Predictor

    if not dataset and not (model["tables_per_slice"] or model["tokens_per_slice"]):
        raise click.UsageError("give --dataset (the conversion the adapters were trained on) or its slicing: "
                               "--tables-per-slice / --tokens-per-slice")
    if question is not None and not question.strip():
        raise click.UsageError("--question is empty")
    settings = {k: v for k, v in model.items() if v is not None}
    started = time.monotonic()
    try:
        predictor = Predictor.load(dataset=dataset, db_dir=db_dir, **settings)
        predictor.database(db_id)  # an unknown db_id fails before the first question
    except ValueError as e:
        raise click.UsageError(str(e)) from e
    args = predictor.args
    click.echo(f"lrsql-predict: {args.base or args.api_base} with both adapters loaded ({args.engine}, "
               f"template {args.template}) in {time.monotonic() - started:.1f} s", err=True)
    try:
        if question is not None:
            answer(predictor, question, db_id, evidence, execute, verbose, timeout, max_rows)
            return
        first = True
        for line in sys.stdin:
            if not line.strip():
                continue
            if not first:
                click.echo("")
            first = False
            click.echo(f"question: {line.strip()}")
            answer(predictor, line, db_id, evidence, execute, verbose, timeout, max_rows)
    finally:
        predictor.close()


def answer(predictor: object, question: str, db_id: str, evidence: str, execute: bool, verbose: bool,
           timeout: float, max_rows: int) -> None:
    """Predict one question and print its tables, SQL and (with ``execute``) its first rows."""
    try:
        p = predictor.predict(question, db_id, evidence)
    except LrsqlError as e:
        click.echo(f"lrsql-predict: error: {e}", err=True)
        sys.exit(2)
    if verbose:
        for i, s in enumerate(p.slices, 1):
            linked = ", ".join(s.linked) or "None"
            click.echo(f"slice {i}/{len(p.slices)} [{', '.join(s.tables)}]: {linked}")
    click.echo(f"tables: {', '.join(p.tables) or '(none linked)'}")
    if p.fallback_kind != "none" or verbose:
        fallback = "" if p.fallback_kind == "none" else f" (nothing linked: {p.fallback_kind.replace('_', ' ')} fallback)"
        click.echo(f"sql prompt tables: {', '.join(p.sql_tables) or '(none)'}{fallback}")
    click.echo(f"sql: {p.sql or '(no SQL in the answer)'}")
    if not execute:
        return
    result = predictor.execute(p, timeout=timeout, max_rows=max_rows)
    if result.status != "ok":
        click.echo(f"{result.status}: {result.message}")
        return
    more = f", first {max_rows} shown" if result.truncated else ""
    click.echo(f"rows: {len(result.rows)}{' or more' if result.truncated else ''}{more}")
    click.echo(" | ".join(result.columns))
    for row in result.rows:
        click.echo(" | ".join("NULL" if v is None else str(v) for v in row))
