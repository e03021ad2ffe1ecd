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
