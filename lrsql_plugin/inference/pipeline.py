"""The two stages, batched across questions slice by slice (SPEC §3.9).

1. Schema linking: slice 1 of every question in the batch, then slice 2 with each question's
   memory (the tables it linked so far), ...  Answers keep only names of the current slice.
2. The union of linked tables; when nothing was linked the fallback is the **full schema** of the
   question's database (what the full-schema baseline sees), never an arbitrary table.
3. SQL generation on the linked tables' DDL; the first SQL statement of the answer is kept.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

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
    timings: dict[str, float] = field(default_factory=dict)  # seconds of this question's batch, per stage

    def record(self) -> dict:
        """The deterministic part (everything but timings), as written to predictions.jsonl."""
        return {
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


class TwoStagePipeline:
    def __init__(
        self,
        engine: GenerationEngine,
        databases: dict[str, Database],
        renderer_for: Callable[[str], PromptRenderer],
        slicing_for: Callable[[str], Slicing],
        settings: PipelineSettings | None = None,
    ) -> None:
        self.engine, self.databases = engine, databases
        self.renderer_for, self.slicing_for = renderer_for, slicing_for
        self.settings = settings or PipelineSettings()

    def run_batch(self, questions: Sequence[InferenceQuestion]) -> list[Prediction]:
        t0 = time.perf_counter()
        if self.settings.gold_tables:
            linked = {q.index: list(q.gold_tables or ()) for q in questions}
            answers: dict[int, list[str]] = {q.index: [] for q in questions}
            slicings = {q.index: [] for q in questions}
        else:
            linked, answers, slicings = self._link(questions)
        t1 = time.perf_counter()
        prompts, fallback = [], {}
        for q in questions:
            db = self.databases[q.db_id]
            tables = db.subset(linked[q.index])
            fallback[q.index] = not tables
            prompts.append(self.renderer_for(q.db_id).sql_generation(q.question, tables or db.tables, q.evidence))
        sql_answers = self.engine.generate(prompts, SQL_GENERATION, self.settings.sql_max_new_tokens)
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
            )
            for q, ans in zip(questions, sql_answers)
        ]

    def _link(self, questions: Sequence[InferenceQuestion]):
        slicing = {q.index: self.slicing_for(q.db_id) for q in questions}
        linked: dict[int, list[str]] = {q.index: [] for q in questions}
        answers: dict[int, list[str]] = {q.index: [] for q in questions}
        depth = max((len(s.slices) for s in slicing.values()), default=0)
        for i in range(depth):
            active = [q for q in questions if i < len(slicing[q.index].slices)]
            prompts = []
            for q in active:
                s = slicing[q.index]
                tables = [self.databases[q.db_id].table(n) for n in s.slices[i]]
                prompts.append(
                    self.renderer_for(q.db_id).schema_link(
                        q.question, tables, linked[q.index], q.evidence, part=i + 1, parts=len(s.slices)
                    )
                )
            for q, ans in zip(active, self.engine.generate(prompts, SCHEMA_LINK, self.settings.link_max_new_tokens)):
                answers[q.index].append(ans)
                linked[q.index] += parse_table_answer(ans, list(slicing[q.index].slices[i]))
        return linked, answers, {q.index: [list(s) for s in slicing[q.index].slices] for q in questions}
