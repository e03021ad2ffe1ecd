"""When two query results count as the same answer (execution accuracy, EX).

Spider semantics follow the official test-suite evaluator (taoyds/test-suite-sql-eval): both
queries lose ``DISTINCT`` (everywhere, ``COUNT(DISTINCT x)`` included) unless it is kept on
purpose, ``> =`` / ``< =`` / ``! =`` are joined, row order matters only when the gold query
contains ``ORDER BY`` (anywhere), and the results must be equal as multisets of rows after some
permutation of the prediction's columns.  BIRD semantics: equal as sets of rows, columns in order.
Values compare as Python compares what SQLite returns (``1 == 1.0``, ``'1' != 1``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from functools import cache

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.tokens import TokenType

from lrsql_plugin.evaluation.execution import first_statement

Rows = Sequence[tuple]


def join_spaced_comparisons(sql: str) -> str:
    """``> =`` -> ``>=`` and alike, as the official evaluator does to both queries before running them."""
    return sql.replace("> =", ">=").replace("< =", "<=").replace("! =", "!=")


def remove_distinct(sql: str) -> str:
    """Drop every DISTINCT of the first statement via its sqlglot AST; text sqlglot cannot parse stays as is."""
    sql = first_statement(sql)
    if "distinct" not in sql.lower():  # nothing to remove: spare the parse
        return sql
    try:
        trees = [t for t in sqlglot.parse(sql, read="sqlite") if t is not None]
    except SqlglotError:
        return sql
    if len(trees) != 1:
        return sql
    tree = trees[0]
    changed = False
    for select in tree.find_all(exp.Select):
        if select.args.get("distinct"):
            select.set("distinct", None)
            changed = True
    for distinct in list(tree.find_all(exp.Distinct)):  # COUNT(DISTINCT x) -> COUNT(x)
        if len(distinct.expressions) == 1:
            distinct.replace(distinct.expressions[0])
            changed = True
    return tree.sql(dialect="sqlite") if changed else sql


def has_order_by(sql: str) -> bool:
    """Whether the query holds an ORDER BY anywhere (subqueries included), as the official rule checks."""
    try:
        tokens = sqlglot.Dialect.get_or_raise("sqlite").tokenize(sql)
    except SqlglotError:
        return "order by" in " ".join(sql.lower().split())
    return any(t.token_type == TokenType.ORDER_BY for t in tokens)


def spider_results_equal(gold: Rows, pred: Rows, order_matters: bool) -> bool:
    """Equal as multisets of rows (as lists when ``order_matters``) for some permutation of pred's columns."""
    if gold == pred:  # the same rows in the same order: equal under every rule (and cheap to see)
        return True
    if len(gold) != len(pred) or len(gold[0]) != len(pred[0]):
        return False
    width = len(gold[0])
    if width == 1:  # one column: no permutation to search
        return gold == pred if order_matters else Counter(gold) == Counter(pred)
    gold_cols, pred_cols = list(zip(*gold)), list(zip(*pred))

    def column_key(col: tuple) -> object:
        return col if order_matters else Counter(col)

    # pred column j can stand for gold column i only if the two columns hold the same values
    # (in the same row order when order matters): a necessary condition that prunes the search.
    pred_keys = [column_key(c) for c in pred_cols]
    candidates = [[j for j in range(width) if pred_keys[j] == column_key(g)] for g in gold_cols]
    if any(not c for c in candidates):
        return False
    if order_matters:
        # every column then matches as a sequence, so any one-to-one assignment makes the rows equal
        return _has_assignment(candidates, pred_cols, accept=lambda chosen: True)

    @cache
    def gold_prefix(k: int) -> Counter:
        return Counter(zip(*gold_cols[:k]))

    def prefix_rows_match(chosen: list[int]) -> bool:
        return gold_prefix(len(chosen)) == Counter(zip(*(pred_cols[j] for j in chosen)))

    return _has_assignment(candidates, pred_cols, accept=prefix_rows_match)


def _has_assignment(
    candidates: list[list[int]], pred_cols: list[tuple], accept: Callable[[list[int]], bool]
) -> bool:
    """Depth-first search for a one-to-one choice of pred columns accepted at every prefix.

    Identical pred columns are interchangeable, so only the first of each is tried at a level.
    """
    chosen: list[int] = []
    used: set[int] = set()

    def extend(i: int) -> bool:
        if i == len(candidates):
            return True
        tried: set[tuple] = set()
        for j in candidates[i]:
            if j in used or pred_cols[j] in tried:
                continue
            tried.add(pred_cols[j])
            chosen.append(j)
            used.add(j)
            if accept(chosen) and extend(i + 1):
                return True
            chosen.pop()
            used.discard(j)
        return False

    return extend(0)


def bird_results_equal(gold: Rows, pred: Rows) -> bool:
    """BIRD's rule: ``set(pred) == set(gold)``."""
    return set(pred) == set(gold)


PLUG_VALUE_LIMIT = 1000  # most alternatives tried per prediction with --plug-value


def _value_literals(tree: exp.Expression) -> list[exp.Literal]:
    """Literals that are values of the query: numbers and strings outside LIMIT / OFFSET."""
    return [
        lit for lit in tree.find_all(exp.Literal)
        if not isinstance(lit.parent, (exp.Limit, exp.Offset)) and not lit.find_ancestor(exp.Limit, exp.Offset)
    ]


def plugged_predictions(gold: str, prediction: str, limit: int = PLUG_VALUE_LIMIT) -> list[str]:
    """``--plug-value``: the prediction with each of its value slots filled by any of the gold's distinct
    values (every assignment, slots filled independently), at most ``limit`` of them in order.

    The official test-suite script does the same on its token stream, so that a model is not charged
    for values it was never shown.  A prediction without slots, or a gold without values, is tried as is;
    text sqlglot cannot parse is tried as is too.
    """
    import itertools

    try:
        gold_tree = sqlglot.parse_one(first_statement(gold), read="sqlite")
        pred_tree = sqlglot.parse_one(first_statement(prediction), read="sqlite")
    except SqlglotError:
        return [prediction]
    values: dict[str, exp.Literal] = {}
    for lit in _value_literals(gold_tree):
        values.setdefault(lit.sql(dialect="sqlite"), lit)
    slots = _value_literals(pred_tree)
    if not values or not slots:
        return [prediction]
    out = []
    for choice in itertools.islice(itertools.product(list(values.values()), repeat=len(slots)), limit):
        tree = pred_tree.copy()
        for slot, value in zip(_value_literals(tree), choice):
            slot.replace(value.copy())
        out.append(tree.sql(dialect="sqlite"))
    return out
