"""The conversion pipeline as a Python API: source data -> samples -> datasets + report.

    data = SOURCES["spider"]("~/data/spider", split="train")
    result = convert(data, ConvertArguments(tables_per_slice=[4, 6]))
    write_outputs(result, "datasets/spider")
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from tqdm import tqdm

from lrsql_plugin.emit import write_datasets
from lrsql_plugin.errors import Skipped
from lrsql_plugin.files import atomic_write_bytes, atomic_write_text
from lrsql_plugin.hparams.convert_args import ConvertArguments
from lrsql_plugin.manifest import MANIFEST, build_manifest
from lrsql_plugin.prompts.render import NONE_MARKER, PromptRenderer
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
from lrsql_plugin.schema.gold_tables import GoldTableError, gold_tables
from lrsql_plugin.schema.model import Database
from lrsql_plugin.schema.rename import rename_tables
from lrsql_plugin.slicing import (
    PseudoDatabase,
    Slicing,
    assign_pseudo_databases,
    build_pseudo_database,
    pseudo_components,
    read_member_list,
    slice_database,
)
from lrsql_plugin.slicing.merge import MERGED_DB_ID, seeded_member_order
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
    manifest: dict = field(default_factory=dict)  # what inference needs to rebuild slices and prompts


class SchemaContext:
    """Per-schema rendering and slicing, built once and reused by every question linked against it.

    The schema is a question's own database or a pseudo-database (then ``pseudo`` is set and the
    slicings keep each member's tables together, members in seeded order).
    """

    def __init__(
        self,
        schema: Database,
        renderer: PromptRenderer,
        args: ConvertArguments,
        counter: TokenCounter,
        pseudo: PseudoDatabase | None = None,
        members: dict[str, Database] | None = None,
    ):
        self.schema, self.renderer, self.args, self.counter = schema, renderer, args, counter
        self.pseudo, self.members = pseudo, members or {}
        self._slicings: list[Slicing] | None = None

    def table_tokens(self, name: str) -> int:
        return self.counter.text(self.renderer.schema([self.schema.table(name)]))

    def slicings(self) -> list[Slicing]:
        """Every slicing of this schema; the first is the canonical one used at inference."""
        if self._slicings is None:
            a = self.args
            out = []
            for size in a.slice_sizes:
                for k in range(a.orders):
                    seed = None if k == 0 else f"{a.seed}:{self.schema.db_id}:{k}"
                    comps = pseudo_components(self.pseudo, self.members, seed) if self.pseudo else None
                    out.append(
                        slice_database(
                            self.schema,
                            size,
                            a.tokens_per_slice,
                            self.table_tokens if a.tokens_per_slice else None,
                            order_seed=seed,
                            label=f"t{size or ''}k{a.tokens_per_slice or ''}-o{k}",
                            components=comps,
                        )
                    )
            self._slicings = out
        return self._slicings


def database_renderer(base: PromptRenderer, db: Database, data: SourceData, args: ConvertArguments) -> PromptRenderer:
    """The renderer for one database: sample values and descriptions if asked for and available."""
    samples = read_sample_values(db, args.sample_values) if args.sample_values else {}
    descriptions = data.descriptions.get(db.db_id, {}) if args.descriptions else {}
    return base.for_database(samples, descriptions)


def pseudo_database_groups(data: SourceData, args: ConvertArguments) -> list[tuple[str, list[str]]]:
    """The pseudo-databases of this conversion as (name, members in slicing order); [] when not merging."""
    if args.merge_dbs:
        members = read_member_list(args.merge_dbs, set(data.databases))
        return [(MERGED_DB_ID, seeded_member_order(members, args.seed))]
    if args.merge:
        weights = {d: len(db.tables) for d, db in data.databases.items()}
        return assign_pseudo_databases(list(data.databases), args.merge, args.seed, data.held_out, weights)
    return []


def pseudo_context(
    data: SourceData,
    args: ConvertArguments,
    pseudo: PseudoDatabase,
    counter: TokenCounter,
    base: PromptRenderer,
) -> SchemaContext:
    """The link context of one pseudo-database: merged schema, merged sample values and descriptions."""
    dbs = {d: data.databases[d] for d in pseudo.members}
    samples, descriptions = {}, {}
    for d in pseudo.members:
        r = database_renderer(base, dbs[d], data, args)
        for table, cols in r.samples.items():
            samples[pseudo.names[(d, table.lower())]] = cols
        for table, cols in r.descriptions.items():
            if (d, table.lower()) in pseudo.names:
                descriptions[pseudo.names[(d, table.lower())]] = cols
    return SchemaContext(pseudo.database, base.for_database(samples, descriptions), args, counter, pseudo, dbs)


class LinkSpaces:
    """Where each database's questions are linked: their own database, or the pseudo-database holding it."""

    def __init__(self, data: SourceData, args: ConvertArguments, counter: TokenCounter) -> None:
        self.data, self.args, self.counter = data, args, counter
        self.base = PromptRenderer(args.templates_dir)
        self.groups = pseudo_database_groups(data, args)
        self.group_of = {d: i for i, (_, members) in enumerate(self.groups) for d in members}
        self._own: dict[str, SchemaContext] = {}
        self._pseudo: dict[int, SchemaContext] = {}

    @property
    def merged(self) -> bool:
        return bool(self.groups)

    def own(self, db_id: str) -> SchemaContext:
        """The question's own database (SQL generation, and linking when not merging)."""
        if db_id not in self._own:
            db = self.data.databases[db_id]
            self._own[db_id] = SchemaContext(db, database_renderer(self.base, db, self.data, self.args), self.args, self.counter)
        return self._own[db_id]

    def link(self, db_id: str) -> SchemaContext | None:
        """The schema the question links against; None when its database is in no pseudo-database."""
        if not self.merged:
            return self.own(db_id)
        i = self.group_of.get(db_id)
        if i is None:
            return None
        if i not in self._pseudo:
            name, members = self.groups[i]
            pseudo = build_pseudo_database([self.data.databases[d] for d in members], name)
            self._pseudo[i] = pseudo_context(self.data, self.args, pseudo, self.counter, self.base)
        return self._pseudo[i]

    def all_pseudo(self) -> list[SchemaContext]:
        return [self.link(members[0]) for _, members in self.groups]


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
    for ex in tqdm(examples, desc="lrsql-convert", unit="q", disable=not progress):
        db = data.databases[ex.db_id]
        link = spaces.link(ex.db_id)
        if link is None:
            outside[ex.db_id] = outside.get(ex.db_id, 0) + 1
            skipped.append(Skipped(ex.source_file, ex.index + 1, f"database {ex.db_id!r} is not in the pseudo-database ({args.merge_dbs})"))
            continue
        try:
            gold = gold_tables(ex.sql, db)
            if link.pseudo:
                link_gold = link.pseudo.to_merged(ex.db_id, gold)
                renames = {t.lower(): link.pseudo.names[(ex.db_id, t.lower())] for t in db.table_names}
                renamed = any(new.lower() != old for old, new in renames.items())
                full_sql = rename_tables(ex.sql, renames) if renamed else ex.sql
            else:
                link_gold, full_sql = gold, ex.sql
        except GoldTableError as e:
            skipped.append(Skipped(ex.source_file, ex.index + 1, str(e)))
            continue
        sql = spaces.own(ex.db_id)
        for k, slicing in enumerate(link.slicings()):
            samples["schema_link"] += schema_link_samples(
                ex, link_gold, link.schema, slicing, link.renderer, args.memory_noise, rng
            )
            for g in link_gold:
                tenth = slicing.slice_of(g) * 10 // len(slicing.slices)
                positions_all[tenth] += 1
                if k == 0:
                    positions[tenth] += 1
        canonical = link.slicings()[0]
        samples["sql_generation"].append(sql_generation_sample(ex, gold, db, sql.renderer, args.sql_distractors, rng))
        samples["full_schema_link"].append(full_schema_link_sample(ex, link_gold, link.schema, link.renderer))
        full_renderer, full_db = (link.renderer, link.schema) if link.pseudo else (sql.renderer, db)
        samples["full_schema_sql"].append(
            full_schema_sql_sample(replace(ex, sql=full_sql), link_gold, full_db, full_renderer)
        )
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
                "link_sql": full_sql,
                "slices": [list(s) for s in canonical.slices],
            }
        )
    samples["schema_link"], selection = select_schema_link_samples(samples["schema_link"], args.none_per_question, args.seed)
    report = build_convert_report(samples, counter, args, skipped, len(examples) + len(data.skipped), data.name)
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
    manifest = out / MANIFEST
    atomic_write_text(manifest, json.dumps(result.manifest, indent=1, ensure_ascii=False) + "\n")
    return [*paths, q, stats, markdown, chart, manifest]


__all__ = ["ConvertResult", "convert", "format_convert_report", "write_outputs"]
