"""Control over the schema-link dataset's size: exact duplicates out, at most K None-answer samples
per question.

Slicings of one question share slices (several orders, several sizes, a memory that did not change
between two slices), so the same prompt with the same answer recurs: training on it twice adds cost,
not information.  Most schema-link samples answer the none-marker; ``none_per_question`` keeps a
seeded choice of them per question and every sample whose answer names a table.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field

from lrsql_plugin.prompts.render import NONE_MARKER
from lrsql_plugin.samples.builders import Sample


@dataclass
class SelectionStats:
    """What the selection did, for the conversion report."""

    before: int
    duplicates: int
    none_dropped: int
    after: int
    none_per_question: int | None
    dropped: list[Sample] = field(default_factory=list, repr=False)  # to count tokens before and after

    def as_dict(self) -> dict:
        return {
            "samples_before": self.before,
            "duplicates_removed": self.duplicates,
            "none_per_question": self.none_per_question,
            "none_dropped": self.none_dropped,
            "samples_after": self.after,
        }


def sample_key(s: Sample) -> tuple[str, str, str, str]:
    """Two samples are exact duplicates when the model sees the same text and learns the same answer."""
    return (s.prompt.system, s.prompt.instruction, s.prompt.input, s.output)


def question_key(s: Sample) -> tuple:
    return (s.meta.get("db_id"), s.meta.get("source_file"), s.meta.get("index"))


def is_none_answer(s: Sample) -> bool:
    return s.output.strip() == NONE_MARKER


def select_schema_link_samples(
    samples: list[Sample], none_per_question: int | None, seed: int | str
) -> tuple[list[Sample], SelectionStats]:
    """Remove exact duplicates (the first occurrence stays), then keep at most ``none_per_question``
    None-answer samples per question, chosen with ``seed``; ``None`` keeps them all (the paper's).

    Every sample whose answer names a table is kept.  Order is preserved, so the same seed gives the
    same output.
    """
    seen: set[tuple[str, str, str, str]] = set()
    distinct, dropped = [], []
    for s in samples:
        key = sample_key(s)
        if key in seen:
            dropped.append(s)
            continue
        seen.add(key)
        distinct.append(s)
    duplicates = len(dropped)
    none_dropped = 0
    if none_per_question is not None:
        if none_per_question < 0:
            raise ValueError("none_per_question must not be negative")
        rng = random.Random(f"{seed}:none-per-question")
        by_question: dict[tuple, list[int]] = defaultdict(list)
        for i, s in enumerate(distinct):
            if is_none_answer(s):
                by_question[question_key(s)].append(i)
        drop: set[int] = set()
        for key in sorted(by_question, key=repr):  # a fixed order, independent of hashing
            positions = by_question[key]
            if len(positions) > none_per_question:
                keep = set(rng.sample(positions, none_per_question))
                drop.update(p for p in positions if p not in keep)
        dropped += [distinct[i] for i in sorted(drop)]
        distinct = [s for i, s in enumerate(distinct) if i not in drop]
        none_dropped = len(drop)
    stats = SelectionStats(len(samples), duplicates, none_dropped, len(distinct), none_per_question, dropped)
    return distinct, stats
