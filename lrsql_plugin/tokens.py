"""Counting prompt tokens: with the target model's tokenizer when given, else an approximation.

The approximation (``approx_token_count``) counts the pieces a byte-level BPE tokenizer cuts text
into, with one regular expression; see its docstring for the rules and for how close it comes to
SmolLM2's tokenizer on real DDL (median within 3%), plus 16 tokens for the chat template's markers.
With a tokenizer that has a chat template, a sample is counted exactly as ``apply_chat_template``
lays it out (system, user, assistant).  Reports say which was used.

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

# Upper-case SQL words and word pieces that are one token in byte-level BPE vocabularies
# (PRIMARY = PRI + MARY, REFERENCES = REF + ER + ENCES); other upper-case runs cost about 3 letters a token.
_UPPER_PIECES = (
    "SELECT|FROM|WHERE|LIMIT|ASC|AND|NOT|NULL|MAX|MIN|END|ALL|ANY|SET|VALUES|INTO|WITH|"
    "CREATE|TABLE|KEY|DEFAULT|TEXT|TIME|JSON|NAME|CODE|INT|MARY|REF|ER|ENCES"
)
APPROX_PIECE = re.compile(  # alternatives ordered by how often they match, for speed
    r"[a-z]{1,10}"  # a lower-case piece: common words up to 10 letters are one token
    r"|[^\w\s]{1,2}|_"  # punctuation merges in pairs ("),", ");", '="'); every underscore
    r"|\n *"  # a line break with its indentation
    r"|\d| (?=\d)"  # every digit, and a space before a digit, is a token of its own
    rf"|(?:{_UPPER_PIECES})(?![a-z])"
    r"|[A-Z][a-z]{1,5}"  # a capitalised piece: Title and camelCase words split more than lower-case ones
    r"|[A-Z]{1,3}"  # other upper-case letters, 3 a token
    r"|\t+|(?<=\S)  +"  # a run of tabs; 2+ spaces after text (one space before a word is free)
    r"|[^\x00-\x7f]"  # any other character (accented letters, CJK)
)
_LINE_START = re.compile(r"(?<=\n)(?=[A-Za-z])")
TEMPLATE_ALLOWANCE = 16


def approx_token_count(text: str) -> int:
    """Tokens of ``text`` as a byte-level BPE tokenizer (GPT-2 style, digits split) would about count them.

    The count is the number of ``APPROX_PIECE`` matches: word pieces (identifiers split at ``_``,
    case changes and digits; lower-case runs by 10 letters, capitalised runs by 6, upper-case runs
    by 3, except a few SQL words and pieces that are one token), each digit, punctuation in pairs,
    a line break with its indentation, and extra spaces; a single space before a word is free.

    Against SmolLM2's tokenizer (``bench/bench_token_approximation.py``; ratio approx / exact per
    table, median [p10, p90]): Spider's ``tables.json`` rendered as prompt DDL 1.00 [0.94, 1.08]
    (873 tables); Spider 2.0-lite's ``DDL.csv`` (BigQuery, Snowflake, SQLite) 0.97 [0.92, 1.04]
    (4,404 tables); Spider 2.0-lite tables with column descriptions rendered as prompt DDL, BIRD
    style, 0.98 [0.94, 1.01] (3,287 tables).  English questions (Spider dev) 1.00 [0.93, 1.08],
    their gold SQL 1.00 [0.91, 1.06].  The former count (words + punctuation marks) gave 0.59,
    0.48 and 0.73 on the three DDL corpora.  Cost: one ``findall``, about 0.3 µs per token (twice
    the former count).
    """
    return len(APPROX_PIECE.findall(text))


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
            f"approximate (BPE-like word pieces, +{TEMPLATE_ALLOWANCE} for the chat template)",
            approx_token_count,
            approx_sample,
        )
    from transformers import AutoTokenizer  # lazy: converting without a tokenizer never imports torch

    tok = AutoTokenizer.from_pretrained(tokenizer)

    fast = getattr(tok, "backend_tokenizer", None)

    def count(text: str) -> int:
        if fast is not None:  # the Rust tokenizer directly: the same ids without the Python wrapper's cost
            return len(fast.encode(text, add_special_tokens=False).ids)
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

    from lrsql_plugin.manifest import (
        portable_name,  # reports name the tokenizer, never a path of this machine
    )

    return TokenCounter(f"tokenizer {portable_name(tokenizer)}", count, exact_sample, batch)


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
