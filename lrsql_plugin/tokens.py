"""Counting prompt tokens: with the target model's tokenizer when given, else an approximation.

The approximation counts words, numbers and single punctuation marks (``\\w+|[^\\w\\s]``), which
tracks BPE token counts of SQL DDL and English prompts within roughly ±25%, plus 16 tokens for the
chat template's markers.  With a tokenizer that has a chat template, a sample is counted exactly as
``apply_chat_template`` lays it out (system, user, assistant).  Reports say which was used.

Counting many samples (``TokenCounter.samples``) with a tokenizer is fast and still exact: the
schema part of a prompt (the alpaca ``input``) repeats across questions, so it is counted once per
distinct text; the chat template is rendered once with placeholders to find its fixed parts; the
short per-sample parts are tokenized in batches.  Special tokens and a line break before the schema
are token boundaries, so the parts add up; the first sample of every distinct schema text is
checked against a full ``apply_chat_template`` count, and a schema text that does not add up is
counted the slow way for all its samples.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

_APPROX = re.compile(r"\w+|[^\w\s]")
_LINE_START = re.compile(r"(?<=\n)(?=[A-Za-z])")
TEMPLATE_ALLOWANCE = 16


def approx_token_count(text: str) -> int:
    return len(_APPROX.findall(text))


@dataclass
class TokenCounter:
    """``text(s)`` counts plain text; ``sample(system, user, output)`` gives (prompt, total) tokens."""

    description: str
    text: Callable[[str], int]
    sample: Callable[[str, str, str], tuple[int, int]]
    # (system, instruction, input, output) per sample -> (prompt, total) per sample, exact and batched
    batch: Callable[[Sequence[tuple[str, str, str, str]]], list[tuple[int, int]]] | None = None

    def samples(self, items: Sequence[tuple[str, str, str, str]]) -> list[tuple[int, int]]:
        """(prompt, total) tokens of many samples given as (system, instruction, input, output)."""
        if self.batch is not None:
            return self.batch(items)
        return [self.sample(system, join_user(instruction, inp), out) for system, instruction, inp, out in items]


def join_user(instruction: str, input_text: str) -> str:
    """The user message as LLaMA-Factory's alpaca converter joins instruction and input."""
    return f"{instruction}\n{input_text}" if input_text else instruction


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

    frame = _chat_frame(tok)

    def batch(items: Sequence[tuple[str, str, str, str]]) -> list[tuple[int, int]]:
        if frame is None:
            return [exact_sample(sy, join_user(ins, inp), out) for sy, ins, inp, out in items]
        prefix, after_system, gen_tail, answer_head, answer_tail = frame

        backend = getattr(tok, "backend_tokenizer", None)
        # Byte-level BPE pre-tokenizers (GPT-2, Llama 3, Qwen, SmolLM) never join a line break with a
        # following letter, so lines starting with a letter can be counted apart (and are verified below).
        line_pieces = backend is not None and "ByteLevel" in repr(backend.pre_tokenizer)

        def lengths(texts: list[str]) -> list[int]:
            distinct = list(dict.fromkeys(texts))  # answers and prompt heads repeat a lot
            n: dict[str, int] = {}
            for start in range(0, len(distinct), 4096):
                part = distinct[start : start + 4096]
                if backend is not None:  # the Rust tokenizer directly: no Python objects per token
                    counts = [len(e.ids) for e in backend.encode_batch(part, add_special_tokens=False)]
                else:
                    counts = [len(ids) for ids in tok(part, add_special_tokens=False)["input_ids"]]
                n.update(zip(part, counts))
            return [n[t] for t in texts]

        head_texts = [prefix + sy + after_system + ins + ("\n" if inp else "") for sy, ins, inp, _ in items]
        if line_pieces:  # a line break before a letter is a token boundary: count each distinct line once
            pieces = [_LINE_START.split(h) for h in head_texts]
            n = dict(zip(flat := list(dict.fromkeys(x for ps in pieces for x in ps)), lengths(flat)))
            heads = [sum(n[x] for x in ps) for ps in pieces]
        else:
            heads = lengths(head_texts)
        answers = lengths([answer_head + out + answer_tail for *_, out in items])
        gen = count(gen_tail)
        distinct_inputs = list({inp: None for _, _, inp, _ in items})
        schema = dict(zip(distinct_inputs, lengths(distinct_inputs)))
        result = [(h + schema[inp] + gen, h + schema[inp] + a) for h, a, (_, _, inp, _) in zip(heads, answers, items)]
        checked: dict[str, bool] = {}
        for i, (sy, ins, inp, out) in enumerate(items):
            if inp not in checked:
                checked[inp] = exact_sample(sy, join_user(ins, inp), out) == result[i]
            if not checked[inp]:
                result[i] = exact_sample(sy, join_user(ins, inp), out)
        return result

    return TokenCounter(f"tokenizer {tokenizer}", count, exact_sample, batch)


_SENTINELS = ("\ue000SYSTEM\ue000", "\ue000USER\ue000", "\ue000ANSWER\ue000")


def _chat_frame(tok) -> tuple[str, str, str, str, str] | None:  # noqa: ANN001
    """The chat template's fixed text around system, user and answer, or None when it is not a plain frame."""
    if not tok.chat_template:
        return None
    system, user, answer = _SENTINELS
    msgs = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    try:
        prompt = tok.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
        full = tok.apply_chat_template([*msgs, {"role": "assistant", "content": answer}], tokenize=False)
    except Exception:  # noqa: BLE001 - any template that cannot render placeholders is counted the slow way
        return None
    if not isinstance(prompt, str) or not isinstance(full, str):
        return None
    if prompt.count(system) != 1 or prompt.count(user) != 1 or full.count(answer) != 1:
        return None
    prefix, rest = prompt.split(system)
    after_system, gen_tail = rest.split(user)
    head = prefix + system + after_system + user
    if not full.startswith(head):
        return None
    answer_head, answer_tail = full[len(head) :].split(answer)
    return prefix, after_system, gen_tail, answer_head, answer_tail
