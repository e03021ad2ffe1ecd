"""``lrsql-convert spider|bird|sqlite|spider2|ddl``: build the LR-SQL and baseline datasets for LLaMA-Factory."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path

import click

from lrsql_plugin.cli.guards import check_output_dir, guarded_group
from lrsql_plugin.cli.options import dataclass_options
from lrsql_plugin.errors import LrsqlError
from lrsql_plugin.hparams.convert_args import ConvertArguments


def common_options(fn: Callable) -> Callable:
    """The options every source shares: one per ConvertArguments field (declared there once), plus
    --out, --quiet and --overwrite."""
    options = [
        click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="Output folder (created)."),
        dataclass_options(ConvertArguments),
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
