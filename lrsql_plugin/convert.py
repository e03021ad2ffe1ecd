"""The conversion pipeline as a Python API: source data -> samples -> datasets + report.

    data = SOURCES["spider"]("~/data/spider", split="train")
    result = convert(data, ConvertArguments(tables_per_slice=[4, 6]))
    write_outputs(result, "datasets/spider")
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass
from pathlib import Path

from tqdm import tqdm

from lrsql_plugin.emit import write_datasets
from lrsql_plugin.errors import Skipped
from lrsql_plugin.files import atomic_write_bytes, atomic_write_text
from lrsql_plugin.hparams.convert_args import ConvertArguments
from lrsql_plugin.prompts.render import PromptRenderer
from lrsql_plugin.report.convert_report import (
    LENGTH_CHART,
    build_convert_report,
    format_convert_markdown,
    format_convert_report,
    render_length_chart,
)
from lrsql_plugin.samples import (
    KINDS,
    Sample,
    full_schema_link_sample,
    full_schema_sql_sample,
    schema_link_samples,
    sql_generation_sample,
)
from lrsql_plugin.schema.gold_tables import GoldTableError, gold_tables
from lrsql_plugin.schema.model import Database
from lrsql_plugin.slicing import Slicing, merge_databases, slice_database
from lrsql_plugin.sources.base import SourceData
from lrsql_plugin.sources.values import read_sample_values
from lrsql_plugin.tokens import TokenCounter, load_token_counter


@dataclass
class ConvertResult:
    samples: dict[str, list[Sample]]
    questions: list[dict]  # one per converted question: gold tables and its canonical slicing
    skipped: list[Skipped]
    report: dict
    args: ConvertArguments
    source: str


class SchemaContext:
    """Per-database rendering and slicing, built once and reused by every question of the database."""

    def __init__(self, schema: Database, renderer: PromptRenderer, args: ConvertArguments, counter: TokenCounter):
        self.schema, self.renderer, self.args, self.counter = schema, renderer, args, counter
        self._slicings: list[Slicing] | None = None

    def slicings(self) -> list[Slicing]:
        """Every slicing of this database; the first is the canonical one used at inference."""
        if self._slicings is None:
            a = self.args

            def table_tokens(name: str) -> int:
                return self.counter.text(self.renderer.schema([self.schema.table(name)]))

            self._slicings = [
                slice_database(
                    self.schema,
                    size,
                    a.tokens_per_slice,
                    table_tokens if a.tokens_per_slice else None,
                    order_seed=None if k == 0 else f"{a.seed}:{self.schema.db_id}:{k}",
                    label=f"t{size or ''}k{a.tokens_per_slice or ''}-o{k}",
                )
                for size in a.slice_sizes
                for k in range(a.orders)
            ]
        return self._slicings


def database_renderer(base: PromptRenderer, db: Database, data: SourceData, args: ConvertArguments) -> PromptRenderer:
    """The renderer for one database: sample values and descriptions if asked for and available."""
    samples = read_sample_values(db, args.sample_values) if args.sample_values else {}
    descriptions = data.descriptions.get(db.db_id, {}) if args.descriptions else {}
    return base.for_database(samples, descriptions)


def schema_contexts(
    data: SourceData, args: ConvertArguments, db_ids: list[str], counter: TokenCounter
) -> tuple[dict[str, SchemaContext], dict[str, SchemaContext], dict[tuple[str, str], str] | None]:
    """Contexts for schema linking and for SQL generation by db_id, and the merged-name map (or None).

    Without merging both are the question's own database.  With ``args.merge`` every question
    links against one pseudo-database: the questions' databases plus further ones in db_id order.
    """
    base = PromptRenderer(args.templates_dir)
    renderers = {d: database_renderer(base, data.databases[d], data, args) for d in db_ids}
    sql = {d: SchemaContext(data.databases[d], renderers[d], args, counter) for d in db_ids}
    if not args.merge:
        return sql, sql, None
    extra = [d for d in sorted(data.databases) if d not in renderers]
    members = sorted(db_ids) + extra[: max(0, args.merge - len(db_ids))]
    merged, names = merge_databases([data.databases[d] for d in members])
    samples, descriptions = {}, {}
    for d in members:
        r = renderers.get(d) or database_renderer(base, data.databases[d], data, args)
        for table, cols in r.samples.items():
            samples[names[(d, table.lower())]] = cols
        for table, cols in r.descriptions.items():
            if (d, table.lower()) in names:
                descriptions[names[(d, table.lower())]] = cols
    ctx = SchemaContext(merged, base.for_database(samples, descriptions), args, counter)
    return {d: ctx for d in db_ids}, sql, names


def convert(data: SourceData, args: ConvertArguments, progress: bool = True) -> ConvertResult:
    """Build every sample kind for ``data``; skipped questions are listed, never guessed."""
    examples = data.examples[: args.limit] if args.limit else data.examples
    counter = load_token_counter(args.tokenizer)
    db_ids = sorted({e.db_id for e in examples})
    link_ctx, sql_ctx, merged_names = schema_contexts(data, args, db_ids, counter)
    rng = random.Random(args.seed)
    samples: dict[str, list[Sample]] = {k: [] for k in KINDS}
    questions, skipped = [], list(data.skipped)
    for ex in tqdm(examples, desc="lrsql-convert", unit="q", disable=not progress):
        db = data.databases[ex.db_id]
        try:
            gold = gold_tables(ex.sql, db)
        except GoldTableError as e:
            skipped.append(Skipped(ex.source_file, ex.index + 1, str(e)))
            continue
        link, sql = link_ctx[ex.db_id], sql_ctx[ex.db_id]
        link_gold = [merged_names[(ex.db_id, g.lower())] for g in gold] if merged_names else gold
        for slicing in link.slicings():
            samples["schema_link"] += schema_link_samples(
                ex, link_gold, link.schema, slicing, link.renderer, args.memory_noise, rng
            )
        samples["sql_generation"].append(sql_generation_sample(ex, gold, db, sql.renderer, args.sql_distractors, rng))
        samples["full_schema_link"].append(full_schema_link_sample(ex, link_gold, link.schema, link.renderer))
        samples["full_schema_sql"].append(full_schema_sql_sample(ex, gold, db, sql.renderer))
        questions.append(
            {
                "index": ex.index,
                "source_file": ex.source_file,
                "db_id": ex.db_id,
                "question": ex.question,
                "evidence": ex.evidence,
                "sql": ex.sql,
                "difficulty": ex.difficulty,
                "gold_tables": gold,
                "link_schema": link.schema.db_id,
                "link_gold_tables": link_gold,
                "slices": [list(s) for s in link.slicings()[0].slices],
            }
        )
    report = build_convert_report(samples, counter, args, skipped, len(examples) + len(data.skipped), data.name)
    if merged_names:
        report["merged"] = {
            "databases": len({d for d, _ in merged_names}),
            "tables": len(merged_names),
            "renamed_tables": sum(1 for (d, t), n in merged_names.items() if n.lower() != t),
        }
    return ConvertResult(samples, questions, skipped, report, args, data.name)


def write_outputs(result: ConvertResult, out_dir: str | Path) -> list[Path]:
    """Datasets, dataset_info.json, questions.jsonl, stats.json, report.md and the length chart, each atomically."""
    out = Path(out_dir)
    paths = write_datasets(out, result.samples, result.args.format, result.args.prefix)
    q = out / "questions.jsonl"
    atomic_write_text(q, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in result.questions))
    stats, markdown, chart = out / "stats.json", out / "report.md", out / LENGTH_CHART
    report = {**result.report, "settings": asdict(result.args)}
    atomic_write_text(stats, json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    atomic_write_text(markdown, format_convert_markdown(report))
    atomic_write_bytes(chart, render_length_chart(report))
    return [*paths, q, stats, markdown, chart]


__all__ = ["ConvertResult", "convert", "format_convert_report", "write_outputs"]
