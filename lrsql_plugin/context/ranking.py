"""Lexical table ranking: BM25 (``bm25s``) over one document per table, the baseline linker.

A table's document holds its name and its column names split into words (at ``_``, ``.``, ``-``,
spaces, case changes and digits: ``customerOrders_2014`` -> ``customer orders 2014``), its shown
name when that differs, and the table and column descriptions.  The query is the question and its
evidence, split the same way, each word counted once.  Words are lower-cased, English stop words
(``bm25s``'s own list and a few question words) dropped and plurals folded (``orders`` -> ``order``);
nothing is downloaded.  A table's score is its document's BM25 score plus ``NAME_WEIGHT`` times that
of its name alone (a second index over the names), so the table a question names outranks a link
table that merely mentions it.

``TableRanker`` indexes one database's tables once (a Spider 2.0 database has up to 486 tables and
72k columns) and then ranks any number of questions; ``rank_tables`` is the one-off form.  Every
table is returned, best first; equal scores keep schema order, so the ranking is deterministic.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from lrsql_plugin.schema.model import Table

# A word: an upper-case run not followed by a lower-case letter (an acronym), a capitalised or
# lower-case word, or a run of digits; everything else separates words.
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


# Question words that never name a table or column, beyond bm25s's English list.
_QUESTION_WORDS = ("many", "much", "whose", "please", "show", "list", "give", "find", "tell")


def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN_PLUS

    return frozenset(STOPWORDS_EN_PLUS) | frozenset(_QUESTION_WORDS)


_STOP = _stopwords()


def _fold(word: str) -> str:
    """A light, offline plural fold: ``categories`` -> ``category``, ``classes`` -> ``class``, ``orders`` -> ``order``."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


@lru_cache(maxsize=1 << 18)
def _index_word(word: str) -> str:
    """``word`` as indexed: lower-cased and plural-folded; "" for a stop word or a single letter."""
    low = word.lower()
    if low in _STOP or (len(low) < 2 and not low.isdigit()):
        return ""
    return _fold(low)


def words(text: str) -> list[str]:
    """The index words of ``text`` (an identifier or prose), in order."""
    return [w for w in map(_index_word, _WORD.findall(text)) if w]


def table_document(table: Table, seen: dict[str, list[str]] | None = None) -> list[str]:
    """The words BM25 indexes for ``table``; ``seen`` caches the words of texts met before (column
    names and descriptions repeat across the tables of a database: 466k texts, 24k distinct in Spider 2.0)."""
    seen = {} if seen is None else seen
    parts = [table.name]
    if table.shown != table.name:
        parts.append(table.shown)
    parts.append(table.description)
    for c in table.columns:
        parts.append(c.name)
        parts.append(c.description)
    out: list[str] = []
    for p in parts:
        if p:
            if p not in seen:
                seen[p] = words(p)
            out += seen[p]
    return out


def name_document(table: Table) -> list[str]:
    """The words of ``table``'s name (and shown name): the field a question's nouns usually hit."""
    return words(table.name) + (words(table.shown) if table.shown != table.name else [])


# The name field's weight beside the whole document's (a light BM25F): a question that says
# "singers" means table ``singer`` more than ``singer_in_concert``.  1.0 is the middle of what
# Spider dev (0.5 best) and the shared Spider 2.0-lite part (2.0 best) prefer; both gain over 0.
NAME_WEIGHT = 1.0


class _Index:
    """One bm25s index over documents given as word lists (an empty vocabulary scores 0)."""

    def __init__(self, documents: list[list[str]]) -> None:
        self.size = len(documents)
        self.bm25 = None
        if any(documents):  # bm25s cannot index an empty vocabulary
            import bm25s

            self.bm25 = bm25s.BM25()
            self.bm25.index(documents, show_progress=False)

    def scores(self, query: list[str]) -> np.ndarray:
        known = [w for w in query if self.bm25 is not None and w in self.bm25.vocab_dict]
        if not known:
            return np.zeros(self.size)
        return np.asarray(self.bm25.get_scores(known), dtype=np.float64)


class TableRanker:
    """BM25 over one database's tables, built once; ``rank`` scores a question against all of them."""

    def __init__(self, tables: Sequence[Table]) -> None:
        self.names = [t.name for t in tables]
        seen: dict[str, list[str]] = {}
        self._documents = _Index([table_document(t, seen) for t in tables])
        self._names = _Index([name_document(t) for t in tables])

    def scores(self, question: str, evidence: str = "") -> np.ndarray:
        """BM25 score of every table (schema order) for the question plus evidence; query words count once."""
        query = list(dict.fromkeys(words(f"{question}\n{evidence}")))
        return self._documents.scores(query) + NAME_WEIGHT * self._names.scores(query)

    def rank(self, question: str, evidence: str = "") -> list[tuple[str, float]]:
        """``(table name, score)`` for every table, best first; ties in schema order."""
        s = self.scores(question, evidence)
        order = sorted(range(len(self.names)), key=lambda i: (-s[i], i))
        return [(self.names[i], round(float(s[i]), 6)) for i in order]


def rank_tables(question: str, evidence: str, tables: list[Table]) -> list[tuple[str, float]]:
    """Rank ``tables`` for one question (see ``TableRanker`` to rank many questions on one database)."""
    return TableRanker(tables).rank(question, evidence)
