"""The first SQL statement of a model answer (SPEC §3.9 step 4), and SQL on one line.

Statement boundaries and whitespace are found with sqlglot's tokenizer (SQLite dialect), whose
tokens carry their positions in the text: a ``;`` ends the statement only where the tokenizer reads
a semicolon token (never inside a string literal, a quoted name or a comment), and whitespace is
normalised only *between* tokens.  The text of every token is kept exactly as written, so
``'New  York'`` stays ``'New  York'``: what runs is what the model wrote.
"""

from __future__ import annotations

import re

from sqlglot.dialects.sqlite import SQLite
from sqlglot.errors import TokenError
from sqlglot.tokens import Token, TokenType

from lrsql_plugin.prompts.render import strip_reasoning

_FENCE = re.compile(r"```(?:sql|sqlite)?\s*\n?(.*?)(?:```|$)", re.S | re.I)
# The line breaks str.splitlines() splits at: none of them may stand in a one-statement-per-line file.
LINE_BREAKS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"


def _tokens(text: str) -> list[Token]:
    """sqlglot's SQLite tokens of ``text``; raises TokenError on an unclosed quote or comment."""
    return SQLite().tokenizer().tokenize(text)


def _first_statement_tokens(text: str) -> tuple[str, list[Token]] | None:
    """The tokens before the first semicolon token, with the text their positions refer to.

    When the whole text cannot be tokenized (prose after the statement with an apostrophe, a
    truncated answer), each ``;`` is tried in turn: the first one where ``text`` up to and including
    it tokenizes and ends in a semicolon token at that place is the statement's end.  None when
    no statement can be tokenized.
    """
    try:
        tokens = _tokens(text)
    except TokenError:
        tokens = None
    if tokens is not None:
        for n, tok in enumerate(tokens):
            if tok.token_type == TokenType.SEMICOLON:
                return text, tokens[:n]
        return text, tokens
    at = text.find(";")
    while at >= 0:
        head = text[: at + 1]
        try:
            tokens = _tokens(head)
        except TokenError:
            tokens = None
        if tokens and tokens[-1].token_type == TokenType.SEMICOLON and tokens[-1].start == at:
            return _first_statement_tokens(head)
        at = text.find(";", at + 1)
    return None


def _joined(text: str, tokens: list[Token], render=None) -> str:
    """Tokens as written, one space wherever whitespace or a comment separated two of them."""
    out: list[str] = []
    for n, tok in enumerate(tokens):
        if n and tok.start > tokens[n - 1].end + 1:
            out.append(" ")
        out.append(render(tok, tokens[n - 1] if n else None) if render else text[tok.start : tok.end + 1])
    return "".join(out)


def squeeze_whitespace(sql: str) -> str:
    """``sql`` with each run of whitespace and comments between two tokens replaced by one space and
    none at either end; the text of every token, string literals and quoted names included, is kept
    exactly.  Text the tokenizer cannot read (an unclosed quote or comment: it cannot run either)
    has its whitespace squeezed as plain text."""
    try:
        tokens = _tokens(sql)
    except TokenError:
        return " ".join(sql.split())
    return _joined(sql, tokens)


def first_sql_statement(text: str) -> str:
    """Strip reasoning blocks (``<think>…</think>``) and a Markdown code fence, then cut at the first
    ``;`` outside quotes and comments; comments are dropped and whitespace between tokens squeezed
    (``squeeze_whitespace``).  The result is on one line unless a string literal or quoted name
    itself holds a line break, which is kept (``single_line_sql`` writes it for a one-per-line file)."""
    text = strip_reasoning(text)
    m = _FENCE.search(text)
    body = m.group(1) if m else text
    found = _first_statement_tokens(body)
    if found is None:  # an unclosed quote or comment before any statement end: it cannot run as written
        return " ".join(body.split())
    return _joined(*found)


def single_line_sql(sql: str) -> str:
    """``sql`` on exactly one line, executing in SQLite as ``sql`` does (for the official prediction
    file, one query per line).

    Whitespace is squeezed as ``squeeze_whitespace`` does.  A string literal that holds a line break
    cannot be written on one line, so it becomes a concatenation that builds the same text:
    ``'a⏎b'`` is written ``('a' || char(10) || 'b')`` (``char(13)`` for a carriage return, and so on
    for every break of ``LINE_BREAKS``); the value, its type (TEXT) and its collation are unchanged.
    Raises ValueError where that is impossible: a line break inside a quoted name (``"a⏎b"``,
    ``[a⏎b]``) or inside a literal used as a name after ``AS``.  Text the tokenizer cannot read (an
    unclosed quote or comment: SQLite refuses it as well) has its whitespace squeezed as plain text.
    """
    try:
        tokens = _tokens(sql)
    except TokenError:
        return " ".join(sql.split())

    def render(tok: Token, previous: Token | None) -> str:
        written = sql[tok.start : tok.end + 1]
        if not any(ch in LINE_BREAKS for ch in written):
            return written
        if tok.token_type != TokenType.STRING or written[:1] != "'":
            raise ValueError(f"a line break inside {written!r} cannot be written on one line")
        if previous is not None and previous.token_type == TokenType.ALIAS:
            raise ValueError(f"a line break inside the name {written!r} cannot be written on one line")
        parts, piece = [], []
        for ch in written[1:-1]:
            if ch in LINE_BREAKS:
                if piece:
                    parts.append("'" + "".join(piece) + "'")
                    piece = []
                parts.append(f"char({ord(ch)})")
            else:
                piece.append(ch)
        if piece:
            parts.append("'" + "".join(piece) + "'")
        return "(" + " || ".join(parts) + ")"

    return _joined(sql, tokens, render)
