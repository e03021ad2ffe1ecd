"""The first SQL statement of a model answer (SPEC §3.9 step 4)."""

from __future__ import annotations

import re

from lrsql_plugin.prompts.render import strip_reasoning

_FENCE = re.compile(r"```(?:sql|sqlite)?\s*\n?(.*?)(?:```|$)", re.S | re.I)


def first_sql_statement(text: str) -> str:
    """Strip reasoning blocks (``<think>…</think>``) and a Markdown code fence, then cut at the first
    ``;`` outside quotes and comments; one line."""
    text = strip_reasoning(text)
    m = _FENCE.search(text)
    body = m.group(1) if m else text
    out, quote, i = [], "", 0
    while i < len(body):
        ch = body[i]
        if quote:
            out.append(ch)
            if ch == quote:
                quote = ""
        elif ch in "'\"`[":
            quote = "]" if ch == "[" else ch
            out.append(ch)
        elif body.startswith("--", i):
            end = body.find("\n", i)
            i = len(body) if end < 0 else end
            continue
        elif ch == ";":
            break
        else:
            out.append(ch)
        i += 1
    return " ".join("".join(out).split())
