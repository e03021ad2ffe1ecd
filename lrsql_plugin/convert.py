"""The conversion pipeline as a Python API: source data -> samples -> datasets + report.

    data = SOURCES["spider"]("~/data/spider", split="train")
    result = convert(data, ConvertArguments(tables_per_slice=[4, 6]))
    write_outputs(result, "datasets/spider")
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field, replace
from pathlib import Path

from tqdm import tqdm

from lrsql_plugin.context.schema_context import (  # noqa: F401  (re-exported: the Python API's names)
    LinkSpaces,
    SchemaContext,
    database_renderer,
    pseudo_context,
)
from lrsql_plugin.context.units import LinkView, narrow_table
from lrsql_plugin.emit import write_datasets
from lrsql_plugin.errors import Skipped
from lrsql_plugin.files import atomic_write_bytes, atomic_write_text
from lrsql_plugin.hparams.convert_args import ConvertArguments
from lrsql_plugin.manifest import MANIFEST, build_manifest, portable_settings
from lrsql_plugin.prompts.render import NONE_MARKER
from lrsql_plugin.report.convert_report import (
    LENGTH_CHART,
    build_convert_report,
    format_convert_markdown,
    format_convert_report,
    render_length_chart,
)
from lrsql_plugin.report.plan_section import add_plan_sections
from lrsql_plugin.samples import (
    KINDS,
    Sample,
    full_schema_link_sample,
    full_schema_sql_sample,
    schema_link_samples,
    sql_generation_sample,
)
from lrsql_plugin.samples.selection import select_schema_link_samples
from lrsql_plugin.schema.gold_columns import gold_columns
from lrsql_plugin.schema.gold_tables import GoldTableError, example_gold_tables
from lrsql_plugin.schema.rename import rename_tables
from lrsql_plugin.sources.base import SourceData
from lrsql_plugin.tokens import load_token_counter


@dataclass
class ConvertResult:
    samples: dict[str, list[Sample]]
    questions: list[dict]  # one per converted question: gold tables and its canonical slicing
    skipped: list[Skipped]
    report: dict
    args: ConvertArguments
    source: str
    manifest: dict = field(default_factory=dict)  # what inference needs to rebuild slices and prompts


def convert(data: SourceData, args: ConvertArguments, progress: bool = True) -> ConvertResult:
    """Build every sample kind for ``data``; skipped questions are listed, never guessed."""
    examples = data.examples[: args.limit] if args.limit else data.examples
    counter = load_token_counter(args.tokenizer)
    spaces = LinkSpaces(data, args, counter)
    rng = random.Random(args.seed)
    samples: dict[str, list[Sample]] = {k: [] for k in KINDS}
    questions, skipped = [], list(data.skipped)
    outside: dict[str, int] = {}  # questions skipped because their database is in no pseudo-database
    positions, positions_all = [0] * 10, [0] * 10  # gold tables by tenth of slice position: canonical, all slicings
    sql_questions = 0
    for ex in tqdm(examples, desc="lrsql-convert", unit="q", disable=not progress):
        db = data.databases[ex.db_id]
        link = spaces.link(ex.db_id)
        if link is None:
            outside[ex.db_id] = outside.get(ex.db_id, 0) + 1
            skipped.append(Skipped(ex.source_file, ex.index + 1, f"database {ex.db_id!r} is not in the pseudo-database ({args.merge_dbs})"))
            continue
        try:
            gold = example_gold_tables(ex, db)
            if link.pseudo:
                link_gold = link.pseudo.to_merged(ex.db_id, gold)
                renames = {t.lower(): link.pseudo.names[(ex.db_id, t.lower())] for t in db.table_names}
                renamed = any(new.lower() != old for old, new in renames.items())
                full_sql = rename_tables(ex.sql, renames) if renamed and ex.sql else ex.sql
            else:
                renames, link_gold, full_sql = {}, gold, ex.sql
            own_cols = _gold_columns_if_split(ex, db, gold, spaces.own(ex.db_id).view, link.view, renames)
        except GoldTableError as e:
            skipped.append(Skipped(ex.source_file, ex.index + 1, str(e)))
            continue
        view = link.view
        link_cols = {renames.get(t, t).lower(): c for t, c in own_cols.items()} if own_cols is not None else None
        gold_units = view.gold_units(link_gold, link_cols)
        for k, slicing in enumerate(link.slicings()):
            samples["schema_link"] += schema_link_samples(
                ex, gold_units, view.units, slicing, link.renderer, args.memory_noise, rng
            )
            for g in gold_units:
                tenth = slicing.slice_of(g) * 10 // len(slicing.slices)
                positions_all[tenth] += 1
                if k == 0:
                    positions[tenth] += 1
        canonical = link.slicings()[0]
        link_folded = view.fold.fold_names(link_gold)
        samples["full_schema_link"].append(full_schema_link_sample(ex, link_folded, view.folded, link.renderer))
        if ex.sql:
            sql_questions += 1
            own = spaces.own(ex.db_id)
            own_folded = own.view.fold.fold_names(gold)
            narrowed = sql_narrowed_tables(own.view, own_folded, own_cols)
            samples["sql_generation"].append(
                sql_generation_sample(ex, own_folded, own.view.folded, own.renderer, args.sql_distractors, rng, narrowed)
            )
            full_renderer, full_db = (link.renderer, view.folded) if link.pseudo else (own.renderer, own.view.folded)
            samples["full_schema_sql"].append(
                full_schema_sql_sample(replace(ex, sql=full_sql), link_folded, full_db, full_renderer)
            )
        questions.append(
            {
                "index": ex.index,
                "source_file": Path(ex.source_file).name,  # the file name: no path of this machine
                "db_id": ex.db_id,
                "question": ex.question,
                "evidence": ex.evidence,
                "sql": ex.sql,
                "difficulty": ex.difficulty,
                "dialect": ex.dialect,
                "gold_tables": gold,
                "gold_from": "sql" if ex.gold_tables is None else "given",
                "link_schema": link.schema.db_id,
                "link_gold_tables": link_gold,
                "link_gold_folded": link_folded,
                "link_gold_units": gold_units,
                "link_sql": full_sql,
                "slices": [list(s) for s in canonical.slices],
            }
        )
    samples["schema_link"], selection = select_schema_link_samples(samples["schema_link"], args.none_per_question, args.seed)
    report = build_convert_report(samples, counter, args, skipped, len(examples) + len(data.skipped), data.name)
    report["converted"] = len(questions)
    report["sql_questions"] = sql_questions
    report["gold_only_questions"] = len(questions) - sql_questions
    report["source_notes"] = list(data.notes)
    report["layout"] = layout_section(spaces, questions, counter)
    add_plan_sections(report, selection, counter, args)
    if outside:
        report["outside_pseudo_database"] = dict(sorted(outside.items()))
    report["gold_slice_positions"] = {"canonical": positions, "all_slicings": positions_all}
    link_samples = samples["schema_link"]
    report["schema_link_none_share"] = (
        round(sum(s.output == NONE_MARKER for s in link_samples) / len(link_samples), 4) if link_samples else None
    )
    pseudo = spaces.all_pseudo() if spaces.merged else []
    if pseudo:
        used = {q["link_schema"] for q in questions}
        report["merged"] = {
            "pseudo_databases": len(pseudo),
            "with_questions": len(used),
            "databases": sum(len(c.pseudo.members) for c in pseudo),
            "tables": sum(len(c.schema.tables) for c in pseudo),
            "renamed_tables": sum(1 for c in pseudo for n, (_, t) in c.pseudo.origin.items() if n != t.lower()),
            # held-out databases spread evenly over positions (--merge N only; --merge-dbs keeps its seeded order)
            "held_out_spread": len(data.held_out) if args.merge else 0,
            "collisions": {
                c.schema.db_id: {n: ds for n, ds in sorted(c.pseudo.collisions.items())} for c in pseudo if c.pseudo.collisions
            },
            "each": [
                {"name": c.schema.db_id, "members": len(c.pseudo.members), "tables": len(c.schema.tables),
                 "slices": len(c.slicings()[0].slices)}
                for c in pseudo
            ],
        }
    manifest = build_manifest(args, data, spaces, spaces.base, counter)
    return ConvertResult(samples, questions, skipped, report, args, data.name, manifest)


def _gold_columns_if_split(
    ex, db, gold: list[str], own_view: LinkView, link_view: LinkView, renames: dict[str, str]
) -> dict[str, set[str]] | None:
    """Columns the gold SQL uses per gold table (lower names of the own database), only when a gold
    table is split into parts somewhere (else None: nothing needs them)."""
    if not ex.sql:
        return None
    split = any(
        own_view.split.get(own_view.fold.family_of.get(g.lower(), g).lower())
        or link_view.split.get(link_view.fold.family_of.get(renames.get(g.lower(), g).lower(), renames.get(g.lower(), g)).lower())
        for g in gold
    )
    return gold_columns(ex.sql, db, gold, ex.dialect) if split else None


def sql_narrowed_tables(view: LinkView, folded_gold: list[str], columns: dict[str, set[str]] | None) -> dict[str, object]:
    """Gold tables that are split in ``view``, narrowed to the columns of their gold parts plus keys."""
    out = {}
    for name in folded_gold:
        parts = view.split.get(name.lower())
        if not parts:
            continue
        gold_parts = view.gold_units([name], columns if columns is not None else None)
        cols = {c.name for p in parts if p.name in gold_parts for c in p.columns}
        out[name.lower()] = narrow_table(view.folded.table(name), cols)
    return out


def layout_section(spaces: LinkSpaces, questions: list[dict], counter) -> dict:  # noqa: ANN001
    """Budget, largest slice, split tables and family folds of the schemas questions link against."""
    contexts = {}
    for q in questions:
        ctx = spaces.link(q["db_id"])
        contexts.setdefault(ctx.schema.db_id, ctx)
    largest, split, folds = 0, [], []
    largest_at = None
    for name, ctx in contexts.items():
        for slicing in ctx.slicings():
            for i, s in enumerate(slicing.slices):
                n = counter.text(ctx.renderer.schema([ctx.view.units.table(u) for u in s]))
                if n > largest:
                    largest, largest_at = n, f"{name} {slicing.label} slice {i + 1}"
        for parts in ctx.view.split.values():
            split.append({"schema": name, "table": parts[0].shown, "parts": len(parts),
                          "columns": len(ctx.view.folded.table(parts[0].origin).columns)})
        for f in ctx.view.fold.families:
            folds.append({"schema": name, "family": f.name, "members": len(f.members),
                          "first": f.members[0], "last": f.members[-1]})
    return {
        "tokens_per_slice": spaces.args.tokens_per_slice,
        "largest_slice_tokens": largest,
        "largest_slice": largest_at,
        "split_tables": split,
        "families": folds,
        "fold_families": spaces.args.fold_families,
    }


def write_outputs(result: ConvertResult, out_dir: str | Path) -> list[Path]:
    """Datasets, dataset_info.json, questions.jsonl, stats.json, report.md and the length chart, each atomically."""
    out = Path(out_dir)
    paths = write_datasets(out, result.samples, result.args.format, result.args.prefix)
    q = out / "questions.jsonl"
    atomic_write_text(q, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in result.questions))
    stats, markdown, chart = out / "stats.json", out / "report.md", out / LENGTH_CHART
    report = {**result.report, "settings": portable_settings(result.args)}
    # files are named, not located: no path of the converting machine in an output file (the console shows paths)
    report["skipped_records"] = [{**r, "file": Path(r["file"]).name} for r in report["skipped_records"]]
    atomic_write_text(stats, json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    atomic_write_text(markdown, format_convert_markdown(report))
    atomic_write_bytes(chart, render_length_chart(report))
    manifest = out / MANIFEST
    atomic_write_text(manifest, json.dumps(result.manifest, indent=1, ensure_ascii=False) + "\n")
    return [*paths, q, stats, markdown, chart, manifest]


__all__ = ["ConvertResult", "convert", "format_convert_report", "write_outputs"]
