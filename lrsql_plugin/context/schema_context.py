"""The schema context: how one database becomes link units, slices and prompts.

Shared by conversion (training samples) and inference (the same prompts), so that both see the same
units, the same slices and the same DDL.  A question links against its own database or the
pseudo-database holding it (``LinkSpaces``); SQL generation always uses its own database.
"""

from __future__ import annotations

from lrsql_plugin.context.units import LinkView, build_link_view
from lrsql_plugin.hparams.convert_args import ConvertArguments
from lrsql_plugin.prompts.render import PromptRenderer
from lrsql_plugin.schema.model import Database, Table
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
from lrsql_plugin.slicing.order import order_tables
from lrsql_plugin.sources.base import SourceData
from lrsql_plugin.sources.values import read_sample_values
from lrsql_plugin.tokens import TokenCounter


class SchemaContext:
    """Per-schema link units, rendering and slicing, built once and reused by every question linked against it.

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
        self._view: LinkView | None = None
        self._tokens: dict[str, int] = {}

    def unit_tokens(self, table: Table) -> int:
        """Tokens of one table's (or unit's) schema-link DDL."""
        return self.counter.text(self.renderer.schema([table]))

    def column_line_tokens(self, table: Table) -> list[int] | None:
        """Tokens of each non-key column's line in one rendering of ``table`` (None when the lines
        cannot be told apart, e.g. a name holding a line break)."""
        from lrsql_plugin.context.units import key_columns

        keys = {k.lower() for k in key_columns(table)}
        lines = self.renderer.schema([table]).split("\n")
        start = next((i for i, line in enumerate(lines) if line.startswith("CREATE TABLE")), None)
        if start is None:
            return None
        body = lines[start + 1 : start + 1 + len(table.columns)]
        if len(body) != len(table.columns):
            return None
        return [self.counter.text(line) + 1 for c, line in zip(table.columns, body) if c.name.lower() not in keys]

    def table_tokens(self, name: str) -> int:
        """Tokens of one unit's DDL, by unit name (cached), plus one for the line break that joins it to
        the next table of its slice (so that a packed slice never exceeds its budget)."""
        if name not in self._tokens:
            self._tokens[name] = self.unit_tokens(self.view.units.table(name)) + 1
        return self._tokens[name]

    @property
    def view(self) -> LinkView:
        """The link units: families folded (unless --no-fold-families), tables over the slice budget split."""
        if self._view is None:
            a = self.args
            self._view = build_link_view(
                self.schema, a.tokens_per_slice, self.unit_tokens, a.fold_families, self.column_line_tokens
            )
        return self._view

    def slicings(self) -> list[Slicing]:
        """Every slicing of this schema's units; the first is the canonical one used at inference."""
        if self._slicings is None:
            a = self.args
            out = []
            for size in a.slice_sizes:
                for k in range(a.orders):
                    seed = None if k == 0 else f"{a.seed}:{self.schema.db_id}:{k}"
                    comps = (
                        pseudo_components(self.pseudo, self.members, seed) if self.pseudo else order_tables(self.schema, seed)
                    )
                    out.append(
                        slice_database(
                            self.view.units,
                            size,
                            a.tokens_per_slice,
                            self.table_tokens if a.tokens_per_slice else None,
                            order_seed=seed,
                            label=f"t{size or ''}k{a.tokens_per_slice or ''}-o{k}",
                            components=self.view.expand(comps),
                        )
                    )
            self._slicings = out
        return self._slicings


def database_renderer(base: PromptRenderer, db: Database, data: SourceData, args: ConvertArguments) -> PromptRenderer:
    """The renderer for one database: sample values if asked for and available; descriptions as set."""
    samples = read_sample_values(db, args.sample_values) if args.sample_values else {}
    return base.for_database(samples, args.descriptions, args.max_description_tokens)


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
    """The link context of one pseudo-database: merged schema and merged sample values (descriptions
    travel with the columns)."""
    dbs = {d: data.databases[d] for d in pseudo.members}
    samples = {}
    for d in pseudo.members:
        r = database_renderer(base, dbs[d], data, args)
        for table, cols in r.samples.items():
            samples[pseudo.names[(d, table.lower())]] = cols
    renderer = base.for_database(samples, args.descriptions, args.max_description_tokens)
    return SchemaContext(pseudo.database, renderer, args, counter, pseudo, dbs)


class LinkSpaces:
    """Where each database's questions are linked: their own database, or the pseudo-database holding it."""

    def __init__(self, data: SourceData, args: ConvertArguments, counter: TokenCounter) -> None:
        self.data, self.args, self.counter = data, args, counter
        self.base = PromptRenderer(args.templates_dir, layout=args.prompt_layout)
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
