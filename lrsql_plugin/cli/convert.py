"""``lrsql-convert spider|bird|sqlite|spider2|ddl``: build the LR-SQL and baseline datasets for LLaMA-Factory."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path

import click

from lrsql_plugin.cli.guards import check_output_dir, guarded_group
from lrsql_plugin.errors import LrsqlError
from lrsql_plugin.hparams.convert_args import FORMATS, ConvertArguments


def _int_list(ctx: click.Context, param: click.Parameter, value: str) -> list[int]:
    try:
        return [n for n in (int(v) for v in value.split(",") if v.strip()) if n != 0]
    except ValueError as e:
        raise click.BadParameter(f"expected comma-separated integers, got {value!r}") from e


def common_options(fn: Callable) -> Callable:
    """The options every source shares; they map one-to-one onto ConvertArguments."""
    options = [
        click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="Output folder (created)."),
        click.option("--tables-per-slice", default="5", show_default=True, callback=_int_list,
                     help="Tables per schema slice; a comma list (e.g. 4,6) gives one slicing per size; 0 = no table limit."),
        click.option("--tokens-per-slice", type=int, default=None, help="Token budget per slice (with or instead of the table limit; 0 = none)."),
        click.option("--orders", type=int, default=1, show_default=True, help="Table orders per slice size (0 canonical, others seeded)."),
        click.option("--seed", type=int, default=42, show_default=True),
        click.option("--memory-noise", type=float, default=0.0, show_default=True,
                     help="Drop/add a table in each memory with this probability (0 = gold memories, as in the paper)."),
        click.option("--none-per-question", type=click.IntRange(min=0), default=None,
                     help="Keep at most K None-answer schema-link samples per question, chosen with --seed; every sample "
                          "naming a table is kept (default: all, as in the paper)."),
        click.option("--model-config", default=None,
                     help="config.json, model folder or architecture name (e.g. qwen2.5-7b-instruct): the report plans "
                          "peak training memory for it (see lrsql-plan)."),
        click.option("--sql-distractors", type=int, default=0, show_default=True, help="Non-gold tables added to SQL-generation prompts."),
        click.option("--sample-values", type=int, default=0, show_default=True, help="Sample values per column (needs the .sqlite files)."),
        click.option("--no-descriptions", "descriptions", is_flag=True, flag_value=False, default=True,
                     help="Leave table and column descriptions out."),
        click.option("--max-description-tokens", type=click.IntRange(min=0), default=32, show_default=True,
                     help="Cut each description to about this many tokens in schema-link slices (SQL prompts show the "
                          "whole text; 0 = no cut)."),
        click.option("--no-fold-families", "fold_families", is_flag=True, flag_value=False, default=True,
                     help="Keep tables whose names differ only in a date/number suffix apart (default: fold each such "
                          "family, e.g. ga_sessions_20160801 ..., into one entry ga_sessions_*)."),
        click.option("--sql-answer-tokens", type=click.IntRange(min=0), default=256, show_default=True,
                     help="Room kept for the SQL answer: inference bounds SQL prompts by cutoff_len minus this."),
        click.option("--format", "format", type=click.Choice(FORMATS), default="alpaca", show_default=True),
        click.option("--cutoff-len", type=int, default=2048, show_default=True, help="Report samples longer than this (LLaMA-Factory cutoff_len)."),
        click.option("--tokenizer", default=None, help="Tokenizer path/name for exact token counts (default: approximation)."),
        click.option("--merge", type=int, default=0, show_default=True,
                     help="Pseudo-databases of N databases each, formed from the whole schema file with the seed "
                          "(the paper's setting; Spider's dev databases are spread evenly over them and their slice "
                          "positions); each question links inside the one holding its database (0 = off)."),
        click.option("--merge-dbs", type=click.Path(dir_okay=False), default=None,
                     help="File of db_ids, one per line: exactly these form one pseudo-database; other questions are skipped."),
        click.option("--templates-dir", type=click.Path(exists=True, file_okay=False), default=None, help="Replacement Jinja templates."),
        click.option("--limit", type=int, default=None, help="Only the first N questions."),
        click.option("--prefix", default="lrsql", show_default=True, help="Dataset name prefix in dataset_info.json."),
        click.option("--quiet", is_flag=True, help="No progress bar."),
        click.option("--overwrite", is_flag=True, help="Replace the files of an earlier run in --out (refused otherwise)."),
    ]
    return functools.reduce(lambda f, opt: opt(f), reversed(options), fn)


def output_names() -> list[str]:
    """Every file a conversion writes into --out (checked for leftovers of an earlier run)."""
    from lrsql_plugin.convert import LENGTH_CHART
    from lrsql_plugin.manifest import MANIFEST
    from lrsql_plugin.samples.builders import KINDS

    return [f"{k}.json" for k in KINDS] + [
        "dataset_info.json", "questions.jsonl", "stats.json", "report.md", LENGTH_CHART, MANIFEST,
    ]


def run(load: Callable[[], object], out: str, quiet: bool, overwrite: bool = False, **kwargs: object) -> None:
    """Check --out and --tokenizer, load, convert, write, report; a fatal error exits 2 having written nothing."""
    from lrsql_plugin.convert import convert, format_convert_report, write_outputs
    from lrsql_plugin.inference.preflight import check_tokenizer

    check_output_dir(out, output_names(), overwrite=overwrite)
    if kwargs.get("tokenizer"):
        check_tokenizer(str(kwargs["tokenizer"]), "--tokenizer")
    if kwargs.get("tokens_per_slice") == 0:
        kwargs["tokens_per_slice"] = None
    try:
        args = ConvertArguments(**kwargs)
        data = load()
        result = convert(data, args, progress=not quiet)
    except (LrsqlError, ValueError) as e:
        click.echo(f"lrsql-convert: error: {e}", err=True)
        sys.exit(2)
    if not result.questions:
        click.echo("lrsql-convert: error: no question could be converted; nothing written", err=True)
        for s in result.skipped[:20]:
            click.echo(f"  skipped: {s}", err=True)
        sys.exit(2)
    write_outputs(result, out)
    click.echo(format_convert_report(result.report))
    click.echo(f"\nwrote {Path(out) / 'dataset_info.json'} and {len(result.samples)} datasets to {out}")


@click.group(cls=guarded_group("lrsql-convert"), context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Build LR-SQL training data (sliced schema-link chains, SQL generation, full-schema baselines)
    in LLaMA-Factory format with a dataset_info.json."""


@main.command()
@click.option("--spider-dir", required=True, type=click.Path(), help="Spider folder (tables.json, *.json, database/).")
@click.option("--split", type=click.Choice(["train", "dev"]), default="train", show_default=True,
              help="train = train_spider.json + train_others.json; dev = dev.json.")
@click.option("--questions", multiple=True, help="Question file(s) instead of the split's (e.g. Spider-DK.json).")
@click.option("--tables", default=None, type=click.Path(), help="tables.json (default: SPIDER_DIR/tables.json).")
@common_options
def spider(spider_dir: str, split: str, questions: tuple[str, ...], tables: str | None, **kw: object) -> None:
    """Spider layout (also Spider-DK, Spider-Syn, ...)."""
    from lrsql_plugin.sources.spider import load_spider

    run(lambda: load_spider(spider_dir, split, list(questions) or None, tables), **kw)


@main.command()
@click.option("--bird-dir", required=True, type=click.Path(), help="BIRD folder ({split}.json, {split}_tables.json, {split}_databases/).")
@click.option("--split", type=click.Choice(["train", "dev"]), default="train", show_default=True)
@click.option("--questions", default=None, help="Question file instead of {split}.json.")
@common_options
def bird(bird_dir: str, split: str, questions: str | None, **kw: object) -> None:
    """BIRD layout (evidence goes into both prompts)."""
    from lrsql_plugin.sources.bird import load_bird

    run(lambda: load_bird(bird_dir, split, questions), **kw)


@main.command()
@click.option("--db-dir", required=True, type=click.Path(), help="Folder of <db_id>.sqlite or <db_id>/<db_id>.sqlite files.")
@click.option("--questions", required=True, type=click.Path(), help="JSONL (or JSON list) of {db_id, question, sql}.")
@common_options
def sqlite(db_dir: str, questions: str, **kw: object) -> None:
    """Any SQLite databases; the schema is read from the databases themselves."""
    from lrsql_plugin.sources.sqlite_folder import load_sqlite_folder

    run(lambda: load_sqlite_folder(db_dir, questions), **kw)


@main.command()
@click.option("--ddl-dir", required=True, type=click.Path(), help="Folder of <db_id>.sql schema dumps (mysqldump --no-data, pg_dump --schema-only, ...).")
@click.option("--dialect", required=True,
              type=click.Choice(["mysql", "postgres", "sqlite", "bigquery", "snowflake", "duckdb", "tsql", "oracle", "redshift"]),
              help="sqlglot dialect of the dumps and of the questions' SQL.")
@click.option("--questions", required=True, type=click.Path(), help="JSONL (or JSON list) of {db_id, question, sql?, tables?, evidence?}.")
@common_options
def ddl(ddl_dir: str, dialect: str, questions: str, **kw: object) -> None:
    """Schema dumps, one <db_id>.sql per database; gold tables from the SQL (in the dialect) or given as tables."""
    from lrsql_plugin.sources.ddl_dump import load_ddl_dir

    run(lambda: load_ddl_dir(ddl_dir, questions, dialect), **kw)


@main.command()
@click.option("--spider2-dir", required=True, type=click.Path(),
              help="Spider 2.0-lite folder (spider2-lite.jsonl, spider2-lite-gold-tables.jsonl, resource/).")
@click.option("--questions", default=None, type=click.Path(), help="Question JSONL (default: SPIDER2_DIR/spider2-lite.jsonl).")
@click.option("--gold", default=None, type=click.Path(),
              help="Gold-table JSONL (default: SPIDER2_DIR/spider2-lite-gold-tables.jsonl).")
@click.option("--max-evidence-tokens", type=click.IntRange(min=0), default=512, show_default=True,
              help="Cut an external-knowledge document at a paragraph or line break to at most this many "
                   "(approximate) tokens; 0 = keep it whole.")
@common_options
def spider2(spider2_dir: str, questions: str | None, gold: str | None, max_evidence_tokens: int, **kw: object) -> None:
    """Spider 2.0-lite (BigQuery, Snowflake, SQLite schemas; gold tables, no SQL)."""
    from lrsql_plugin.sources.spider2 import load_spider2

    run(lambda: load_spider2(spider2_dir, questions, gold, max_evidence_tokens), **kw)


if __name__ == "__main__":
    main()
