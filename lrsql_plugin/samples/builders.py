"""Turn one question with its gold tables into training samples."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from lrsql_plugin.prompts.render import Prompt, PromptRenderer, format_table_answer
from lrsql_plugin.schema.model import Database, Example, Table
from lrsql_plugin.slicing.pack import Slicing

# Dataset kinds, in the order they are written and reported.
KINDS = ("schema_link", "sql_generation", "full_schema_link", "full_schema_sql")


@dataclass(frozen=True)
class Sample:
    kind: str
    prompt: Prompt
    output: str
    meta: dict = field(default_factory=dict)


def schema_link_samples(
    example: Example,
    gold: list[str],
    schema: Database,
    slicing: Slicing,
    renderer: PromptRenderer,
    memory_noise: float = 0.0,
    rng: random.Random | None = None,
) -> list[Sample]:
    """The chain of slice samples of SPEC §3.5 for one question on one slicing.

    ``schema`` holds the link units the slicing names (tables, table parts, families) and ``gold``
    the gold units.  For each slice ``i``: a sample without memory; if gold units were found in
    earlier slices, the same sample with that memory (in slice order); then slice ``i``'s gold
    units join the memory.  Answers and memories give the units' shown names (a part shows its
    table's name), each once.  With ``memory_noise`` > 0 each memory entry is dropped, and a
    non-gold unit of the earlier slices added, with that probability (``rng`` required).  Noise
    also reaches the slices before the first gold one: there, with that probability, an extra
    sample carries a false positive (a non-gold unit of an earlier slice) as its memory, the
    commonest inference error.
    """
    gold_low = {g.lower() for g in gold}
    samples, memory = [], []
    parts = len(slicing.slices)
    for i, names in enumerate(slicing.slices):
        tables = [_table(schema, n) for n in names]
        target = [n for n in names if n.lower() in gold_low]
        meta = {"db_id": example.db_id, "index": example.index, "slicing": slicing.label, "slice": i}
        variants = [[]]
        if memory:
            variants.append(_noisy(memory, slicing.slices[:i], gold_low, memory_noise, rng))
        elif memory_noise > 0 and i > 0:  # before the first gold slice: train on an early false link
            false_link = _noisy([], slicing.slices[:i], gold_low, memory_noise, rng)
            if false_link:
                variants.append(false_link)
        answer = format_table_answer(shown_names(schema, target))
        for mem in variants:
            shown = shown_names(schema, mem)
            prompt = renderer.schema_link(example.question, tables, shown, example.evidence, part=i + 1, parts=parts)
            samples.append(Sample("schema_link", prompt, answer, {**meta, "memory": shown}))
        memory += target
    return samples


def shown_names(schema: Database, units: list[str]) -> list[str]:
    """The names prompts show for ``units``, each once, in order (parts show their table's name)."""
    out: dict[str, str] = {}
    for u in units:
        t = schema.table(u)
        name = t.shown if t is not None else u
        out.setdefault(name.lower(), name)
    return list(out.values())


def _noisy(
    memory: list[str], earlier: tuple[tuple[str, ...], ...], gold_low: set[str], p: float, rng: random.Random | None
) -> list[str]:
    if p <= 0:
        return list(memory)
    if rng is None:
        raise ValueError("memory_noise needs an rng")
    kept = {m for m in memory if rng.random() >= p}
    candidates = [n for s in earlier for n in s if n.lower() not in gold_low]
    if candidates and rng.random() < p:
        kept.add(rng.choice(candidates))
    return [n for s in earlier for n in s if n in kept]  # slice order


def sql_generation_sample(
    example: Example,
    gold: list[str],
    db: Database,
    renderer: PromptRenderer,
    distractors: int = 0,
    rng: random.Random | None = None,
    narrowed: dict[str, Table] | None = None,
) -> Sample:
    """Prompt with the gold tables' DDL (plus ``distractors`` random other tables, in schema order).

    ``narrowed`` (table name lower -> table) replaces a wide table by the columns the SQL needs plus keys.
    """
    names = set(gold)
    others = [t.name for t in db.tables if t.name not in names]
    if distractors and others:
        if rng is None:
            raise ValueError("distractors need an rng")
        names |= set(rng.sample(others, min(distractors, len(others))))
    narrowed = narrowed or {}
    tables = [narrowed.get(t.name.lower(), t) for t in db.tables if t.name in names]
    prompt = renderer.sql_generation(example.question, tables, example.evidence)
    return Sample("sql_generation", prompt, example.sql, _meta(example, gold))


def full_schema_link_sample(example: Example, gold: list[str], schema: Database, renderer: PromptRenderer) -> Sample:
    """Baseline: the whole schema at once, target = all gold tables."""
    prompt = renderer.schema_link(example.question, schema.tables, evidence=example.evidence)
    return Sample("full_schema_link", prompt, format_table_answer(gold), _meta(example, gold))


def full_schema_sql_sample(example: Example, gold: list[str], db: Database, renderer: PromptRenderer) -> Sample:
    """Baseline: one model from the full schema straight to SQL."""
    prompt = renderer.sql_generation(example.question, db.tables, example.evidence)
    return Sample("full_schema_sql", prompt, example.sql, _meta(example, gold))


def _table(db: Database, name: str) -> Table:
    t = db.table(name)
    if t is None:
        raise KeyError(f"table {name!r} not in {db.db_id}")
    return t


def _meta(example: Example, gold: list[str]) -> dict:
    return {"db_id": example.db_id, "index": example.index, "gold_tables": list(gold)}
