"""Spider hardness (easy / medium / hard / extra) of a gold query, by the official counting rules.

Re-implemented on a sqlglot parse from the rules of taoyds/spider ``evaluation.py``, including
the quirks that decide published bucket sizes.  The counts look only at the top-level query,
which for a set operation is its leftmost SELECT (the official parser attaches an ORDER BY or
LIMIT written after ``A UNION B`` to ``B``, so those do not count):

- *component 1*: one each for WHERE, GROUP BY, ORDER BY and LIMIT; one per table beyond the
  first in FROM (a subquery in FROM is a table); one per ``OR`` and one per ``LIKE`` among the
  conditions of ON, WHERE and HAVING;
- *component 2*: one per subquery used as a value in those conditions, plus one when the query
  is a set operation (``A UNION B UNION C`` counts once, as the official parser nests it);
- *others*: one each when there are more than one "aggregate", more than one selected column,
  more than one WHERE condition, or more than one GROUP BY column.  "Aggregates" count as the
  official ``count_agg`` does: MAX/MIN/COUNT/SUM/AVG heading a selected column, in GROUP BY and
  in the operands of ORDER BY terms, plus every negated (``NOT``) WHERE condition and every
  negated HAVING condition and AND/OR connector in HAVING (the official code reads the
  condition tuples' first field there, which is the NOT flag, and counts connector strings).
"""

from __future__ import annotations

from sqlglot import exp

from lrsql_plugin.schema.gold_tables import GoldTableError, parse_sqlite

HARDNESS_LEVELS = ("easy", "medium", "hard", "extra")

_AGGREGATES = (exp.Max, exp.Min, exp.Count, exp.Sum, exp.Avg)
_ARITHMETIC = (exp.Add, exp.Sub, exp.Mul, exp.Div)


class HardnessError(ValueError):
    """The query does not parse, so it has no hardness."""


def spider_hardness(sql: str) -> str:
    """easy / medium / hard / extra for ``sql``; raises HardnessError when sqlglot cannot parse it."""
    try:
        tree = parse_sqlite(sql)
    except GoldTableError as e:
        raise HardnessError(str(e)) from e
    comp1, comp2, others = component_counts(tree)
    return hardness_from_counts(comp1, comp2, others)


def hardness_from_counts(comp1: int, comp2: int, others: int) -> str:
    """The official thresholds of ``eval_hardness``."""
    if comp1 <= 1 and others == 0 and comp2 == 0:
        return "easy"
    if (others <= 2 and comp1 <= 1 and comp2 == 0) or (comp1 <= 2 and others < 2 and comp2 == 0):
        return "medium"
    if (
        (others > 2 and comp1 <= 2 and comp2 == 0)
        or (2 < comp1 <= 3 and others <= 2 and comp2 == 0)
        or (comp1 <= 1 and others == 0 and comp2 <= 1)
    ):
        return "hard"
    return "extra"


def component_counts(tree: exp.Expression) -> tuple[int, int, int]:
    """(component 1, component 2, others) of a parsed query, as defined in the module docstring."""
    top = _unwrap(tree)
    is_set_operation = isinstance(top, exp.SetOperation)
    while isinstance(top, exp.SetOperation):
        top = _unwrap(top.this)
    if not isinstance(top, exp.Select):
        raise HardnessError(f"not a SELECT query ({type(top).__name__})")

    joins = top.args.get("joins") or []
    table_units = sum(isinstance(c, exp.From) for c in top.iter_expressions()) + len(joins)
    on_units, on_connectors = _flatten_all([j.args.get("on") for j in joins])
    where_units, where_connectors = _flatten_all([top.args["where"].this] if top.args.get("where") else [])
    having_units, having_connectors = _flatten_all([top.args["having"].this] if top.args.get("having") else [])
    group = top.args["group"].expressions if top.args.get("group") else []
    order = top.args["order"].expressions if top.args.get("order") else []

    units = [_without_not(u) for u in on_units + where_units + having_units]
    ors = sum(on_connectors + where_connectors + having_connectors)
    comp1 = (
        bool(where_units) + bool(group) + bool(order) + bool(top.args.get("limit"))
        + max(table_units - 1, 0) + ors + sum(isinstance(u, exp.Like) for u in units)
    )
    comp2 = sum(_nested_queries(u) for u in units) + is_set_operation

    aggregates = (
        sum(isinstance(_unalias(e), _AGGREGATES) for e in top.expressions)
        + sum(isinstance(u, exp.Not) for u in where_units)
        + sum(isinstance(g, _AGGREGATES) for g in group)
        + sum(_order_term_aggregates(o.this) for o in order)
        + len(having_connectors) + sum(isinstance(u, exp.Not) for u in having_units)
    )
    others = (aggregates > 1) + (len(top.expressions) > 1) + (len(where_units) > 1) + (len(group) > 1)
    return comp1, comp2, others


def _unwrap(node: exp.Expression) -> exp.Expression:
    while isinstance(node, (exp.Subquery, exp.Paren)) and node.this is not None:
        node = node.this
    return node


def _unalias(node: exp.Expression) -> exp.Expression:
    return node.this if isinstance(node, exp.Alias) else node


def _without_not(unit: exp.Expression) -> exp.Expression:
    return unit.this if isinstance(unit, exp.Not) else unit


def _flatten_all(conditions: list[exp.Expression | None]) -> tuple[list[exp.Expression], list[bool]]:
    units: list[exp.Expression] = []
    connectors: list[bool] = []
    for condition in filter(None, conditions):
        more_units, more_connectors = _flatten(condition)
        units += more_units
        connectors += more_connectors
    return units, connectors


def _flatten(condition: exp.Expression) -> tuple[list[exp.Expression], list[bool]]:
    """Conditions joined by AND/OR, flattened as the official parser reads them (parentheses ignored),
    and for each connector whether it is an OR."""
    while isinstance(condition, exp.Paren):
        condition = condition.this
    if isinstance(condition, exp.Connector):
        left, left_ors = _flatten(condition.this)
        right, right_ors = _flatten(condition.expression)
        return left + right, left_ors + [isinstance(condition, exp.Or)] + right_ors
    return [condition], []


def _nested_queries(unit: exp.Expression) -> int:
    """Subqueries used as values of one condition (its right-hand operands, or the body of EXISTS)."""
    if isinstance(unit, exp.Exists):
        return 1
    values = [v for k, v in unit.args.items() if k != "this" and isinstance(v, exp.Expression)]
    return sum(isinstance(_unwrap(v), (exp.Select, exp.SetOperation)) for v in values)


def _order_term_aggregates(term: exp.Expression) -> int:
    operands = [term.this, term.expression] if isinstance(term, _ARITHMETIC) else [term]
    return sum(isinstance(o, _AGGREGATES) for o in operands)
