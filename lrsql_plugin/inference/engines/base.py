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


def prefix_order(encoded: Sequence[Sequence[int]]) -> list[int]:
    """Input positions of ``encoded`` (token ids) in lexicographic order of their ids: prompts that share
    a prefix (the slice-first prompts of one slice) come out next to each other (ties in input order)."""
    return sorted(range(len(encoded)), key=lambda i: (list(encoded[i]), i))


def in_input_order(order: Sequence[int], answers: Sequence[str]) -> list[str]:
    """``answers`` given in ``order`` (input positions, e.g. ``prefix_order``) put back in input order."""
    out = [""] * len(order)
    for i, answer in zip(order, answers):
        out[i] = answer
    return out


def common_prefix_length(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


def shared_prefix_groups(encoded: Sequence[Sequence[int]], min_tokens: int) -> list[tuple[int, list[int]]]:
    """Prompts grouped by a shared token prefix of at least ``min_tokens``, as ``(prefix length, input
    positions)``; every prompt is in exactly one group, a prompt sharing no such prefix in a group of one
    (prefix length 0).

    Prompts are taken in ``prefix_order`` and a group grows while the prefix common to all its members
    stays at least ``min_tokens`` long.  The prefix always leaves each member at least one token of its
    own, so a continuation from the prefix's cache has input for every row.
    """
    groups: list[tuple[int, list[int]]] = []
    members: list[int] = []
    shared = 0
    for i in prefix_order(encoded):
        if members:
            common = min(shared, common_prefix_length(encoded[members[-1]], encoded[i]), len(encoded[i]) - 1)
            if common >= min_tokens:
                members.append(i)
                shared = common
                continue
            groups.append((shared if len(members) > 1 else 0, members))
        members, shared = [i], len(encoded[i]) - 1
    if members:
        groups.append((shared if len(members) > 1 else 0, members))
    return groups
