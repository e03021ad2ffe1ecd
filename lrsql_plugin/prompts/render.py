"""Render schema DDL and the two prompts from Jinja templates.

Training samples and inference prompts both come from ``PromptRenderer``, so that a prompt at
inference is the training prompt to the token.  A user can replace any template by putting a file
of the same name in their own folder (``templates_dir``); missing files fall back to the shipped
ones.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path

import jinja2
import yaml

from lrsql_plugin.prompts.identifiers import quote_identifier, quote_literal
from lrsql_plugin.prompts.layout import SLICE_FIRST, check_prompt_layout
from lrsql_plugin.resources import resource_dir
from lrsql_plugin.schema.model import ForeignKey, Table

NONE_MARKER = "None"
TEMPLATE_FILES = ("system.yaml", "schema.sql.j2", "schema_link.j2", "sql_generation.j2")


@dataclass(frozen=True)
class Prompt:
    """One prompt in LLaMA-Factory's alpaca terms: the user turn is ``instruction + "\\n" + input``."""

    system: str
    instruction: str
    input: str
    schema_first: bool = False  # slice-first layout: the schema is the instruction, the question block the input

    @property
    def schema(self) -> str:
        """The schema DDL of the prompt, wherever the layout put it."""
        return self.instruction if self.schema_first else self.input

    @property
    def request(self) -> str:
        """The question block (question, evidence, memory, what to answer), wherever the layout put it."""
        return self.input if self.schema_first else self.instruction

    @property
    def user(self) -> str:
        """The user message exactly as LLaMA-Factory's alpaca converter joins it."""
        return f"{self.instruction}\n{self.input}" if self.input else self.instruction


class PromptRenderer:
    def __init__(
        self,
        templates_dir: str | Path | None = None,
        samples: dict[str, dict[str, list]] | None = None,
        show_descriptions: bool = True,
        description_tokens: int | None = None,
        layout: str = SLICE_FIRST,
    ) -> None:
        self.layout = check_prompt_layout(layout)  # where a slice prompt puts the schema (lrsql_plugin.prompts.layout)
        loaders: list[jinja2.BaseLoader] = []
        if templates_dir is not None:
            loaders.append(jinja2.FileSystemLoader(str(templates_dir)))
        loaders.append(jinja2.FileSystemLoader(str(resource_dir("templates"))))
        self.env = jinja2.Environment(
            loader=jinja2.ChoiceLoader(loaders),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            autoescape=False,
        )
        self.env.filters["qi"] = quote_identifier
        self.env.filters["ql"] = quote_literal
        self.env.filters["clip"] = clip_description
        self.env.globals["references"] = _references_by_column
        system_src, _, _ = self.env.loader.get_source(self.env, "system.yaml")
        self.system = yaml.safe_load(system_src)
        self.samples = samples or {}
        self.show_descriptions = show_descriptions
        # tokens per description in schema-link slices (None = whole); SQL prompts show the whole text
        self.description_tokens = description_tokens
        self._schema = self.env.get_template("schema.sql.j2")
        self._link = self.env.get_template("schema_link.j2")
        self._sql = self.env.get_template("sql_generation.j2")
        self._ddl_cache: dict[tuple[str, ...], str] | None = None

    def for_database(
        self,
        samples: dict[str, dict[str, list]] | None = None,
        show_descriptions: bool | None = None,
        description_tokens: int | None | str = "keep",
    ) -> PromptRenderer:
        """A renderer for one database (sharing the compiled templates) that caches the DDL it renders.

        The cache is keyed by table and column names, so one such renderer must serve one database only.
        """
        r = copy.copy(self)
        r.samples = samples or {}
        if show_descriptions is not None:
            r.show_descriptions = show_descriptions
        if description_tokens != "keep":
            r.description_tokens = description_tokens  # type: ignore[assignment]
        r._ddl_cache = {}
        return r

    def templates_sha256(self) -> str:
        """A content hash of the templates in effect (the user's replacements and the shipped rest)."""
        import hashlib

        h = hashlib.sha256()
        for name in TEMPLATE_FILES:
            source, _, _ = self.env.loader.get_source(self.env, name)
            h.update(f"{name}\0{source}\0".encode())
        return h.hexdigest()

    def schema(self, tables: list[Table], description_tokens: int | None | str = "link") -> str:
        """DDL of ``tables`` in the given order; descriptions cut to ``description_tokens`` (``"link"``:
        the schema-link setting; None: whole)."""
        limit = self.description_tokens if description_tokens == "link" else description_tokens
        key = (limit, *((t.name, tuple(c.name for c in t.columns)) for t in tables))  # a part's columns change
        if self._ddl_cache is not None and key in self._ddl_cache:
            return self._ddl_cache[key]
        ddl = self._schema.render(
            tables=tables, samples=self.samples, show_descriptions=self.show_descriptions, desc_limit=limit
        ).strip()
        if self._ddl_cache is not None:
            self._ddl_cache[key] = ddl
        return ddl

    def schema_link(
        self,
        question: str,
        tables: list[Table],
        memory: list[str] | None = None,
        evidence: str = "",
        part: int | None = None,
        parts: int | None = None,
    ) -> Prompt:
        """Prompt for one slice (``part``/``parts`` 1-based) or, without them, the full schema.

        Slice prompts follow ``layout``: slice-first puts the schema in the alpaca ``instruction``
        and the question block in ``input`` (the user turn is then schema, line break, question);
        question-first does the reverse.  The full-schema baseline is always question-first.
        """
        instruction = self._link.render(
            question=question, evidence=evidence, memory=memory or [], part=part, parts=parts,
            none_marker=NONE_MARKER,
        ).strip()
        if parts and self.layout == SLICE_FIRST:
            return Prompt(self.system["schema_link"], self.schema(tables), instruction, schema_first=True)
        return Prompt(self.system["schema_link"], instruction, self.schema(tables))

    def sql_generation(self, question: str, tables: list[Table], evidence: str = "") -> Prompt:
        instruction = self._sql.render(question=question, evidence=evidence).strip()
        return Prompt(self.system["sql_generation"], instruction, self.schema(tables, description_tokens=None))


_WORD = re.compile(r"\w+|[^\w\s]")


def clip_description(text: str, limit: int | None = None) -> str:
    """``text`` on one line, cut after about ``limit`` tokens (words and punctuation marks) with "...";
    None keeps it whole."""
    text = " ".join(str(text or "").split())
    if limit is None or not text:
        return text
    for n, m in enumerate(_WORD.finditer(text), start=1):
        if n > limit:
            return text[: m.start()].rstrip() + " ..."
    return text


def _references_by_column(table: Table) -> dict[str, ForeignKey]:
    refs: dict[str, ForeignKey] = {}
    for fk in table.foreign_keys:
        refs.setdefault(fk.column, fk)
    return refs


# Answers (the schema-link target and what a model gives back): names separated by ", "; items are
# split at commas, semicolons and line breaks (every break str.splitlines() knows).
_LINE_BREAKS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"
_ANSWER_SEPARATORS = ",;" + _LINE_BREAKS
_LENIENT = "`\"'[]().*- "  # stripped from both ends of an unquoted item (after whitespace)


def answer_name(name: str) -> str:
    """``name`` as an answer writes it: as it is, or double-quoted (``"`` doubled inside, as
    ``quote_identifier`` quotes for DDL) when plain writing would be ambiguous: a name holding a
    separator (``,`` ``;`` a line break) or ``"``, a name that the lenient reading of an unquoted item
    would change (leading or trailing whitespace, quotes, brackets, ``*`` ...), an empty name, and a
    name equal to the none-marker in any case (``none`` is the table, ``None`` the marker)."""
    plain = (
        name
        and not any(ch in _ANSWER_SEPARATORS or ch == '"' for ch in name)
        and name.strip().strip(_LENIENT) == name
        and name.lower() != NONE_MARKER.lower()
    )
    return name if plain else '"' + name.replace('"', '""') + '"'


def format_table_answer(tables: list[str]) -> str:
    """The schema-link target: table names (``answer_name``) separated by ", ", or the bare
    none-marker when no table is needed.  ``parse_table_answer`` reads every such answer back exactly."""
    return ", ".join(answer_name(t) for t in tables) if tables else NONE_MARKER


_THINK_OPEN, _THINK_CLOSE = "<think>", "</think>"
_THINK_BLOCK = re.compile(r"<think>.*?</think>", re.S)


def strip_reasoning(text: str) -> str:
    """The answer without reasoning blocks (``<think>…</think>``, also an empty one).

    A ``</think>`` with no opening tag (templates that put ``<think>`` in the prompt) drops
    everything up to it; an unclosed ``<think>`` (reasoning cut off by the token budget) drops
    everything from it: text inside a reasoning block is never read as the answer.
    """
    text = _THINK_BLOCK.sub("", text)
    if _THINK_CLOSE in text:
        text = text.rsplit(_THINK_CLOSE, 1)[1]
    if _THINK_OPEN in text:
        text = text.split(_THINK_OPEN, 1)[0]
    return text


_ITEM_LEAD = re.compile(r"[ \t]*(?:[-*\u2022]|\d+[.)])?[ \t]*")  # spaces, then an optional bullet or "1." / "1)"


def _read_quoted(text: str, at: int) -> tuple[str, int] | None:
    """The name quoted at ``text[at]`` (a ``"``; ``""`` inside is one ``"``) and the index after its
    closing quote, or None when the quote is never closed."""
    out, i = [], at + 1
    while i < len(text):
        if text[i] == '"':
            if text.startswith('""', i):
                out.append('"')
                i += 2
                continue
            return "".join(out), i + 1
        out.append(text[i])
        i += 1
    return None


def _named_in_answer(text: str) -> set[str]:
    """The names (lower case) a model answer gives, outside reasoning blocks.

    A quote-aware scan: an item that starts (after spaces and an optional list bullet) with ``"``
    is the quoted name, read exactly up to its closing quote (separators inside are part of the
    name; anything after it up to the next separator is ignored).  Any other item runs to the next
    comma, semicolon or line break and is read leniently: with surrounding whitespace, quotes,
    backticks, brackets, bullets, periods and spaces removed, and also as written (so an unquoted
    ``events_*`` still names ``events_*``).  A bare none-marker (``None``, ``none.``) names nothing;
    the quoted ``"None"`` names the table.
    """
    text = strip_reasoning(text)
    named: set[str] = set()
    quoted_names: set[str] = set()
    i, n = 0, len(text)
    while i <= n:
        lead = _ITEM_LEAD.match(text, i).end()
        quoted = _read_quoted(text, lead) if lead < n and text[lead] == '"' else None
        end = quoted[1] if quoted else i
        while end < n and text[end] not in _ANSWER_SEPARATORS:
            end += 1
        if quoted:
            quoted_names.add(quoted[0].lower())
        else:
            raw = text[i:end].strip()
            lenient = raw.strip(_LENIENT)
            if lenient.lower() != NONE_MARKER.lower():
                named.update((raw.lower(), lenient.lower()))
        i = end + 1
    named.discard("")  # an empty unquoted item (``a,,b``, a trailing comma) names nothing
    return named | quoted_names


def parse_table_answer(text: str, allowed: list[str]) -> list[str]:
    """Table names of ``allowed`` named in a model answer, in ``allowed`` order.

    Model output is hostile: anything that is not one of the slice's tables is dropped.  Reasoning
    blocks are removed first; then the answer is split into items at commas, semicolons and line
    breaks outside double quotes (``_named_in_answer``), and each item is matched
    case-insensitively against the slice's names.  Every answer ``format_table_answer`` writes is
    read back exactly, names holding ``,`` ``;`` a line break or quotes included, and a table named
    ``none`` is told apart from the none-marker.
    """
    named = _named_in_answer(text)
    return [t for t in allowed if t.lower() in named]


def parse_unit_answer(text: str, units: list[Table]) -> list[str]:
    """Names of the link units in ``units`` whose shown name a model answer gives, in ``units`` order.

    As ``parse_table_answer``, but matched on ``Table.shown``: answering a table's name on one of
    its parts links that part.
    """
    named = _named_in_answer(text)
    return [u.name for u in units if u.shown.lower() in named]
