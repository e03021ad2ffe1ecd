"""The engine interface: prompts in, greedy completions out, with a named adapter."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from lrsql_plugin.prompts.render import Prompt

SCHEMA_LINK = "schema_link"
SQL_GENERATION = "sql_generation"
ADAPTERS = (SCHEMA_LINK, SQL_GENERATION)


class GenerationEngine(Protocol):
    def generate(self, prompts: Sequence[Prompt], adapter: str, max_new_tokens: int) -> list[str]:
        """Greedy completions of ``prompts`` with ``adapter`` active, one string per prompt, in order."""
        ...

    def close(self) -> None:
        """Release resources (servers, GPU memory). May do nothing."""
        ...


def plan_batches(lengths: Sequence[int], max_rows: int, max_tokens: int, max_new_tokens: int = 0) -> list[list[int]]:
    """Cut prompts (given by their token lengths) into engine batches with little padding.

    Prompts are sorted longest first (ties in input order) and cut greedily: a batch holds at most
    ``max_rows`` prompts and at most ``max_tokens`` padded tokens, counting each row as the
    batch's longest prompt plus ``max_new_tokens``; a prompt longer than the budget runs alone.
    Returns the prompts' input positions, batch by batch.
    """
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    batches: list[list[int]] = []
    for i in order:
        if batches:
            current = batches[-1]
            width = lengths[current[0]] + max_new_tokens
            if len(current) < max_rows and (len(current) + 1) * width <= max_tokens:
                current.append(i)
                continue
        batches.append([i])
    return batches
