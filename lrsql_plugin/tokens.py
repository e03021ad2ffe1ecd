"""Counting prompt tokens: with the target model's tokenizer when given, else an approximation.

The approximation counts words, numbers and single punctuation marks (``\\w+|[^\\w\\s]``), which
tracks BPE token counts of SQL DDL and English prompts within roughly ±25%, plus 16 tokens for the
chat template's markers.  With a tokenizer that has a chat template, a sample is counted exactly as
``apply_chat_template`` lays it out (system, user, assistant).  Reports say which was used.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

_APPROX = re.compile(r"\w+|[^\w\s]")
TEMPLATE_ALLOWANCE = 16


def approx_token_count(text: str) -> int:
    return len(_APPROX.findall(text))


@dataclass
class TokenCounter:
    """``text(s)`` counts plain text; ``sample(system, user, output)`` gives (prompt, total) tokens."""

    description: str
    text: Callable[[str], int]
    sample: Callable[[str, str, str], tuple[int, int]]


def load_token_counter(tokenizer: str | None) -> TokenCounter:
    if not tokenizer:

        def approx_sample(system: str, user: str, output: str) -> tuple[int, int]:
            prompt = approx_token_count(system) + approx_token_count(user) + TEMPLATE_ALLOWANCE
            return prompt, prompt + approx_token_count(output) + 1

        return TokenCounter(
            f"approximate (words + punctuation marks, +{TEMPLATE_ALLOWANCE} for the chat template)",
            approx_token_count,
            approx_sample,
        )
    from transformers import AutoTokenizer  # lazy: converting without a tokenizer never imports torch

    tok = AutoTokenizer.from_pretrained(tokenizer)

    def count(text: str) -> int:
        return len(tok(text, add_special_tokens=False)["input_ids"])

    def exact_sample(system: str, user: str, output: str) -> tuple[int, int]:
        if not tok.chat_template:
            prompt = count(system) + count(user)
            return prompt, prompt + count(output)
        msgs = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        prompt = len(tok.apply_chat_template(msgs, add_generation_prompt=True, tokenize=True, return_dict=True)["input_ids"])
        full = [*msgs, {"role": "assistant", "content": output}]
        total = len(tok.apply_chat_template(full, tokenize=True, return_dict=True)["input_ids"])
        return prompt, total

    return TokenCounter(f"tokenizer {tokenizer}", count, exact_sample)
