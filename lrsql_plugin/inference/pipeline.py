"""The two stages over a chunk of questions (SPEC §3.9).

1. Schema linking in waves by slice position: wave *i* holds slice *i* of every question of the
   chunk that has one, each with its memory (the tables it linked in slices 1..i-1), all in one
   engine call.  The engine sorts the prompts by length and cuts them into batches by a token
   budget, so padding stays small and a short question never waits in a batch of long ones.
   Answers keep only names of the current slice.
2. The union of linked units (tables, table parts, families), mapped to the question's own
   database: a table split into parts is shown through its linked parts plus its keys.  When
   nothing was linked the fallback is bounded: the **full schema** of the question's database
   when its SQL prompt fits the SQL budget (``sql_prompt_tokens``), else its tables ranked by BM25
   against question and evidence, added while the prompt fits.  Linked tables that overflow the
   budget are dropped lowest-ranked first.  Each prediction records its ``fallback_kind``
   (``none``, ``full_schema``, ``bm25``) and the tables dropped.
3. SQL generation on the chosen tables' DDL, every question of the chunk in one engine call; the
   first SQL statement of the answer is kept.

Where a question links is a hook: ``link_context(question)`` gives the database whose slices the
schema-link model reads, its renderer and its slicing (by default the question's own database),
and ``map_linked(question, names)`` maps the linked names to the question's own database before
stage 2 (by default unchanged).  Merged mode (linking inside a pseudo-database of many databases)
plugs in there.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from lrsql_plugin.context.ranking import TableRanker
from lrsql_plugin.context.units import LinkView, build_link_view, narrow_table
from lrsql_plugin.inference.engines.base import SCHEMA_LINK, SQL_GENERATION, GenerationEngine
from lrsql_plugin.inference.sql_extract import first_sql_statement
from lrsql_plugin.prompts.render import Prompt, PromptRenderer, parse_unit_answer
from lrsql_plugin.samples.builders import shown_names
from lrsql_plugin.schema.model import Database, Table
from lrsql_plugin.slicing.pack import Slicing
from lrsql_plugin.tokens import TokenCounter


@dataclass(frozen=True)
class InferenceQuestion:
    index: int
    db_id: str
    question: str
    evidence: str = ""
    gold_tables: tuple[str, ...] | None = None  # used only in gold-tables mode


@dataclass
class Prediction:
    index: int
    db_id: str
    question: str
    slices: list[list[str]]
    link_answers: list[str]  # raw model answer per slice
    linked_tables: list[str]
    fallback: bool
    sql_answer: str
    sql: str
    timings: dict[str, float] = field(default_factory=dict)  # seconds of this question's chunk, per stage
    # Merged mode: the schema linked against and the names linked there (before mapping to the own database).
    link_schema: str | None = None
    link_schema_tables: list[str] | None = None
    other_member_tables: list[str] | None = None  # linked tables of other member databases, dropped before stage 2
    fallback_kind: str = "none"  # none | full_schema | bm25 (nothing linked) ; see the module docstring
    sql_tables: list[str] | None = None  # the tables the SQL prompt holds (None in link-only runs)
    dropped_tables: list[str] = field(default_factory=list)  # linked tables left out to fit the SQL budget

    def record(self) -> dict:
        """The deterministic part (everything but timings), as written to predictions.jsonl."""
        merged = {} if self.link_schema is None else {
            "link_schema": self.link_schema, "link_schema_tables": self.link_schema_tables,
            "other_member_tables": self.other_member_tables or [],
        }
        return {**merged,
            "index": self.index,
            "db_id": self.db_id,
            "question": self.question,
            "slices": self.slices,
            "link_answers": self.link_answers,
            "linked_tables": self.linked_tables,
            "fallback": self.fallback,
            "fallback_kind": self.fallback_kind,
            "sql_tables": self.sql_tables,
            "dropped_tables": self.dropped_tables,
            "sql_answer": self.sql_answer,
            "sql": self.sql,
        }


@dataclass
class PipelineSettings:
    link_max_new_tokens: int = 64
    sql_max_new_tokens: int = 256
    gold_tables: bool = False  # skip stage 1 and give the SQL model the gold tables (upper bound)
    link_only: bool = False  # stop after stage 1 (linking metrics need no SQL model and no database)
    full_schema_link: bool = False  # stage 1 is one full-schema prompt per question (the baseline link model)
    sql_prompt_tokens: int | None = None  # bound on an SQL prompt (the conversion's cutoff_len minus answer room)


class LinkContext(NamedTuple):
    """Where one question's schema linking happens: the database whose slices the schema-link model
    reads (its link units), the renderer of its prompts, and its slicing (slice names are units of
    ``database``); ``view`` maps units back to tables (None: units are the tables themselves)."""

    database: Database
    renderer: PromptRenderer
    slicing: Slicing
    view: LinkView | None = None


LinkContextFor = Callable[[InferenceQuestion], LinkContext]
MapLinked = Callable[[InferenceQuestion, list[str]], list[str]]


class TwoStagePipeline:
    """``renderer_for(db_id)`` renders a database's prompts (stage 2, and stage 1 by default);
    ``slicing_for(db_id)`` slices it (stage 1 by default).  ``link_context`` and ``map_linked``
    replace stage 1's per-question context (see the module docstring)."""

    def __init__(
        self,
        engine: GenerationEngine,
        databases: dict[str, Database],
        renderer_for: Callable[[str], PromptRenderer],
        slicing_for: Callable[[str], Slicing],
        settings: PipelineSettings | None = None,
        *,
        link_context: LinkContextFor | None = None,
        map_linked: MapLinked | None = None,
        view_for: Callable[[str], LinkView] | None = None,
        counter: TokenCounter | None = None,
    ) -> None:
        self.engine, self.databases = engine, databases
        self.renderer_for, self.slicing_for = renderer_for, slicing_for
        self.settings = settings or PipelineSettings()
        self.link_context: LinkContextFor = link_context or self.own_database_context
        self.map_linked: MapLinked = map_linked or (lambda _q, names: names)
        self._views: dict[str, LinkView] = {}
        self.view_for = view_for or self._plain_view
        self.counter = counter
        self._rankers: dict[str, TableRanker] = {}
        self._table_tokens: dict[tuple[str, str, int], int] = {}

    def _plain_view(self, db_id: str) -> LinkView:
        if db_id not in self._views:
            self._views[db_id] = build_link_view(self.databases[db_id], None, fold=False)
        return self._views[db_id]

    def own_database_context(self, q: InferenceQuestion) -> LinkContext:
        """The default: link inside the question's own database."""
        view = self.view_for(q.db_id)
        return LinkContext(view.units, self.renderer_for(q.db_id), self.slicing_for(q.db_id), view)

    def ranker(self, db_id: str) -> TableRanker:
        if db_id not in self._rankers:
            self._rankers[db_id] = TableRanker(self.view_for(db_id).folded.tables)
        return self._rankers[db_id]

    def sql_tables(self, q: InferenceQuestion, linked: list[str], columns: dict[str, set[str] | None]) -> tuple[list[Table], str, list[str]]:
        """The tables of the SQL prompt, the fallback kind and the linked tables dropped (module docstring)."""
        view = self.view_for(q.db_id)
        folded = view.folded
        wanted = {n.lower() for n in view.fold.fold_names(linked)}
        tables = []
        for t in folded.tables:  # schema order
            if t.name.lower() not in wanted:
                continue
            cols = columns.get(t.name.lower())
            tables.append(narrow_table(t, cols) if cols is not None and view.split.get(t.name.lower()) else t)
        budget = self.settings.sql_prompt_tokens
        if tables:
            if budget is None or self.counter is None or self._fits(q, tables, budget):
                return tables, "none", []
            order = {name: i for i, (name, _) in enumerate(self.ranker(q.db_id).rank(q.question, q.evidence))}
            kept = sorted(tables, key=lambda t: order.get(t.name, len(order)))
            kept = self._fill(q, kept, budget)
            dropped = [t.name for t in tables if t not in kept]
            return [t for t in tables if t in kept], "none", dropped
        if budget is None or self.counter is None or self._fits(q, folded.tables, budget):
            return list(folded.tables), "full_schema", []
        ranked = [folded.table(name) for name, _ in self.ranker(q.db_id).rank(q.question, q.evidence)]
        chosen = {t.name for t in self._fill(q, ranked, budget)}
        return [t for t in folded.tables if t.name in chosen], "bm25", []

    def _prompt(self, q: InferenceQuestion, tables: list[Table]) -> Prompt:
        return self.renderer_for(q.db_id).sql_generation(q.question, tables, q.evidence)

    def _prompt_tokens(self, prompt: Prompt) -> int:
        return self.counter.samples([(prompt.system, prompt.instruction, prompt.input, "")])[0][0]

    def _fits(self, q: InferenceQuestion, tables: list[Table], budget: int) -> bool:
        return self._prompt_tokens(self._prompt(q, tables)) <= budget

    def _fill(self, q: InferenceQuestion, ranked: list[Table], budget: int) -> list[Table]:
        """The longest prefix-by-rank of ``ranked`` (skipping tables that alone do not fit) whose prompt fits."""
        renderer = self.renderer_for(q.db_id)
        base = self._prompt_tokens(self._prompt(q, []))
        chosen, used = [], base
        for t in ranked:
            key = (q.db_id, t.name, len(t.columns))
            if key not in self._table_tokens:
                self._table_tokens[key] = self.counter.text(renderer.schema([t], description_tokens=None)) + 1
            if used + self._table_tokens[key] <= budget:
                chosen.append(t)
                used += self._table_tokens[key]
        while chosen and not self._fits(q, chosen, budget):  # the estimate missed a merge: drop the lowest-ranked
            chosen.pop()
        return chosen

    def run_batch(self, questions: Sequence[InferenceQuestion]) -> list[Prediction]:
        """Predictions for a chunk of questions, in the chunk's order (a chunk may hold any number)."""
        t0 = time.perf_counter()
        raw: dict[int, tuple[str, list[str]] | None] = {q.index: None for q in questions}
        columns: dict[int, dict[str, set[str] | None]] = {}
        if self.settings.gold_tables:
            linked = {q.index: list(q.gold_tables or ()) for q in questions}
            answers: dict[int, list[str]] = {q.index: [] for q in questions}
            slicings: dict[int, list[list[str]]] = {q.index: [] for q in questions}
        else:
            linked, answers, slicings, raw, columns = self._link(questions)
        t1 = time.perf_counter()
        prompts, fallback, chosen = [], {}, {}
        for q in questions if not self.settings.link_only else ():
            tables, kind, dropped = self.sql_tables(q, linked[q.index], columns.get(q.index, {}))
            fallback[q.index] = kind
            chosen[q.index] = ([t.name for t in tables], dropped)
            prompts.append(self._prompt(q, tables))
        sql_answers = self.engine.generate(prompts, SQL_GENERATION, self.settings.sql_max_new_tokens) if prompts else []
        if self.settings.link_only:
            sql_answers, fallback = [""] * len(questions), {q.index: "none" for q in questions}
        t2 = time.perf_counter()
        return [
            Prediction(
                index=q.index,
                db_id=q.db_id,
                question=q.question,
                slices=slicings[q.index],
                link_answers=answers[q.index],
                linked_tables=linked[q.index],
                fallback=fallback[q.index] != "none",
                fallback_kind=fallback[q.index],
                sql_tables=chosen[q.index][0] if q.index in chosen else None,
                dropped_tables=chosen[q.index][1] if q.index in chosen else [],
                sql_answer=ans,
                sql=first_sql_statement(ans),
                timings={"schema_link_s": round(t1 - t0, 4), "sql_generation_s": round(t2 - t1, 4)},
                link_schema=raw[q.index][0] if raw[q.index] else None,
                link_schema_tables=raw[q.index][1] if raw[q.index] else None,
            )
            for q, ans in zip(questions, sql_answers)
        ]

    run_chunk = run_batch

    def _link(self, questions: Sequence[InferenceQuestion]):
        """Stage 1 in waves by slice position; every wave is one engine call over the whole chunk."""
        context = {q.index: self.link_context(q) for q in questions}
        full = self.settings.full_schema_link
        if full:  # one "slice": the whole (folded) schema, rendered as the full-schema baseline's prompt
            context = {
                i: LinkContext(
                    c.view.folded if c.view else c.database, c.renderer,
                    Slicing(c.slicing.db_id, (tuple((c.view.folded if c.view else c.database).table_names),), "full"),
                )
                for i, c in context.items()
            }
        linked: dict[int, list[str]] = {q.index: [] for q in questions}
        answers: dict[int, list[str]] = {q.index: [] for q in questions}
        depth = max((len(c.slicing.slices) for c in context.values()), default=0)
        for i in range(depth):
            active = [q for q in questions if i < len(context[q.index].slicing.slices)]
            prompts = []
            for q in active:
                db, renderer, slicing, _ = context[q.index]
                tables = [db.table(n) for n in slicing.slices[i]]
                if full:
                    prompts.append(renderer.schema_link(q.question, tables, evidence=q.evidence))
                else:
                    prompts.append(renderer.schema_link(
                        q.question, tables, shown_names(db, linked[q.index]), q.evidence, part=i + 1,
                        parts=len(slicing.slices),
                    ))
            for q, ans in zip(active, self.engine.generate(prompts, SCHEMA_LINK, self.settings.link_max_new_tokens)):
                answers[q.index].append(ans)
                db, _, slicing, _ = context[q.index]
                linked[q.index] += parse_unit_answer(ans, [db.table(n) for n in slicing.slices[i]])
        columns: dict[int, dict[str, set[str] | None]] = {}
        for q in questions:  # units -> tables (families expand to their members), columns of linked parts
            view = context[q.index].view
            if view is None:
                continue
            if full:
                names, cols = linked[q.index], {}
            else:
                names, cols = view.linked_tables(linked[q.index])
            linked[q.index] = [m for n in names for m in view.fold.members(n)]
            if context[q.index].database.db_id == q.db_id:  # narrowing only where linking ran in the own database
                columns[q.index] = cols
        mapped = {q.index: list(self.map_linked(q, linked[q.index])) for q in questions}
        slices = {q.index: [list(s) for s in context[q.index].slicing.slices] for q in questions}
        raw = {
            q.index: (context[q.index].database.db_id, linked[q.index])
            if context[q.index].database.db_id != q.db_id else None
            for q in questions
        }
        return mapped, answers, slices, raw, columns
