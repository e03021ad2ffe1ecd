"""Where the schema goes in a schema-link slice prompt (the *prompt layout*).

- ``slice-first`` (the default of new conversions): system prompt, the slice's schema, then the
  question, evidence, memory and the instruction.  The schema text of slice *i* is the same for
  every question, so the prompts of one wave share a long token prefix that an engine can prefill
  once (``HFEngine``'s shared prefill, vLLM's prefix caching).  A slice prompt is bounded by the
  slice budget, so LLaMA-Factory's truncation of long prompts never reaches the question.
- ``question-first`` (conversions made before layouts existed): the question block first, the
  schema last; no two questions share more than the system prompt.

Full-schema baseline prompts (and SQL-generation prompts) are always question-first: they can be
long enough to be cut, and the cut must fall on the schema, not the question.
"""

from __future__ import annotations

SLICE_FIRST = "slice-first"
QUESTION_FIRST = "question-first"
PROMPT_LAYOUTS = (SLICE_FIRST, QUESTION_FIRST)
#: The layout of a conversion whose manifest records none (made before layouts existed).
LEGACY_LAYOUT = QUESTION_FIRST


def check_prompt_layout(layout: str) -> str:
    """``layout`` when it is one of ``PROMPT_LAYOUTS``, else a ValueError naming them."""
    if layout not in PROMPT_LAYOUTS:
        raise ValueError(f"prompt_layout must be one of {', '.join(PROMPT_LAYOUTS)}, got {layout!r}")
    return layout
