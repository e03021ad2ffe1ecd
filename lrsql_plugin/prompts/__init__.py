"""Prompt rendering: Jinja templates -> system / instruction / input (SPEC §3.3, §3.5, §3.6)."""

from lrsql_plugin.prompts.render import Prompt, PromptRenderer

__all__ = ["Prompt", "PromptRenderer"]
