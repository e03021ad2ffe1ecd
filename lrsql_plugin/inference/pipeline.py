"""The two stages over a chunk of questions (SPEC §3.9).

1. Schema linking in waves by slice position: wave *i* holds slice *i* of every question of the
   chunk that has one, each with its memory (the tables it linked in slices 1..i-1), all in one
   engine call.  The engine sorts the prompts by length and cuts them into batches by a token
   budget, so padding stays small and a short question never waits in a batch of long ones.
   Answers keep only names of the current slice.
2. The union of linked tables, mapped to the question's own database; when nothing was linked the
   fallback is the **full schema** of the question's database (what the full-schema baseline
   sees), never an arbitrary table.
3. SQL generation on the linked tables' DDL, every question of the chunk in one engine call; the
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

from lrsql_plugin.inference.engines.base import SCHEMA_LINK, SQL_GENERATION, GenerationEngine
from lrsql_plugin.inference.sql_extract import first_sql_statement
from lrsql_plugin.prompts.render import PromptRenderer, parse_table_answer
from lrsql_plugin.schema.model import Database
from lrsql_plugin.slicing.pack import Slicing


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


class LinkContext(NamedTuple):
    """Where one question's schema linking happens: the database whose slices the schema-link model
    reads, the renderer of its prompts, and its slicing (slice names are tables of ``database``)."""

    database: Database
    renderer: PromptRenderer
    slicing: Slicing


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
    ) -> None:
        self.engine, self.databases = engine, databases
        self.renderer_for, self.slicing_for = renderer_for, slicing_for
        self.settings = settings or PipelineSettings()
        self.link_context: LinkContextFor = link_context or self.own_database_context
        self.map_linked: MapLinked = map_linked or (lambda _q, names: names)

    def own_database_context(self, q: InferenceQuestion) -> LinkContext:
        """The default: link inside the question's own database."""
        return LinkContext(self.databases[q.db_id], self.renderer_for(q.db_id), self.slicing_for(q.db_id))

    def run_batch(self, questions: Sequence[InferenceQuestion]) -> list[Prediction]:
        """Predictions for a chunk of questions, in the chunk's order (a chunk may hold any number)."""
        t0 = time.perf_counter()
        raw: dict[int, tuple[str, list[str]] | None] = {q.index: None for q in questions}
        if self.settings.gold_tables:
            linked = {q.index: list(q.gold_tables or ()) for q in questions}
            answers: dict[int, list[str]] = {q.index: [] for q in questions}
            slicings: dict[int, list[list[str]]] = {q.index: [] for q in questions}
        else:
            linked, answers, slicings, raw = self._link(questions)
        t1 = time.perf_counter()
        prompts, fallback = [], {}
        for q in questions if not self.settings.link_only else ():
            db = self.databases[q.db_id]
            tables = db.subset(linked[q.index])
            fallback[q.index] = not tables
            prompts.append(self.renderer_for(q.db_id).sql_generation(q.question, tables or db.tables, q.evidence))
        sql_answers = self.engine.generate(prompts, SQL_GENERATION, self.settings.sql_max_new_tokens) if prompts else []
        if self.settings.link_only:
            sql_answers, fallback = [""] * len(questions), {q.index: False for q in questions}
        t2 = time.perf_counter()
        return [
            Prediction(
                index=q.index,
                db_id=q.db_id,
                question=q.question,
                slices=slicings[q.index],
                link_answers=answers[q.index],
                linked_tables=linked[q.index],
                fallback=fallback[q.index],
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
        if full:  # one "slice": the whole schema, rendered as the full-schema baseline's prompt
            context = {
                i: LinkContext(c.database, c.renderer, Slicing(c.slicing.db_id, (tuple(c.database.table_names),), "full"))
                for i, c in context.items()
            }
        linked: dict[int, list[str]] = {q.index: [] for q in questions}
        answers: dict[int, list[str]] = {q.index: [] for q in questions}
        depth = max((len(c.slicing.slices) for c in context.values()), default=0)
        for i in range(depth):
            active = [q for q in questions if i < len(context[q.index].slicing.slices)]
            prompts = []
            for q in active:
                db, renderer, slicing = context[q.index]
                tables = [db.table(n) for n in slicing.slices[i]]
                if full:
                    prompts.append(renderer.schema_link(q.question, tables, evidence=q.evidence))
                else:
                    prompts.append(renderer.schema_link(
                        q.question, tables, linked[q.index], q.evidence, part=i + 1, parts=len(slicing.slices)
                    ))
            for q, ans in zip(active, self.engine.generate(prompts, SCHEMA_LINK, self.settings.link_max_new_tokens)):
                answers[q.index].append(ans)
                linked[q.index] += parse_table_answer(ans, list(context[q.index].slicing.slices[i]))
        mapped = {q.index: list(self.map_linked(q, linked[q.index])) for q in questions}
        slices = {q.index: [list(s) for s in context[q.index].slicing.slices] for q in questions}
        raw = {
            q.index: (context[q.index].database.db_id, linked[q.index])
            if context[q.index].database is not self.databases.get(q.db_id) else None
            for q in questions
        }
        return mapped, answers, slices, raw
