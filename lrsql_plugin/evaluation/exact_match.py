"""Spider exact-set match (EM), written on sqlglot from the published rules of the official evaluation.

A query is first read into the official components: SELECT items ``(agg, val_unit)``, the FROM
table units and their ON conditions, WHERE and HAVING as condition units joined by AND/OR, GROUP
BY columns, ORDER BY (one direction and its terms), LIMIT, and a nested query for INTERSECT /
UNION / EXCEPT.  Columns become ``__table.column__`` (lower case, aliases resolved, unqualified
names looked up in the FROM tables in order, ``*`` is ``__all__``), so aliases, join order and
table-name case never matter.  Before comparing, as the official script does:

- **values are dropped**: the right-hand operands of every top-level condition (a literal, or a
  column) become "no value"; a subquery operand stays and has its own values dropped;
- **columns are unified through foreign keys**: a column of a top-level FROM table that belongs to
  a foreign-key group is replaced by the group's representative (the column of the smallest
  index in ``tables.json``); groups are formed pair by pair, each pair joining the first group
  that holds either column;
- **DISTINCT is ignored** at the top level and in set-operation branches (``SELECT DISTINCT`` and
  ``COUNT(DISTINCT x)`` alike).

Components then compare as the official script does.  SELECT items and WHERE condition units as
multisets; GROUP BY columns as a multiset of column names (the table is not compared); the
"group" component (GROUP BY columns in order plus the HAVING conditions); ORDER BY terms in order
with their direction and whether a LIMIT is present (not its value); the set of AND/OR connectors
of WHERE; each set operation's nested query recursively; the keyword set (where, group, having,
order and its direction, limit, except, union, intersect, or, not, in, like); and finally the
FROM table units as a sorted list (ON conditions are not compared).  Subqueries used as values are
compared as whole structures, with their own ON conditions, order of items and DISTINCT.  A
trailing ORDER BY or LIMIT after ``A UNION B`` belongs to ``B``, as the official parser reads it.

The FROM clause is read as the official parser reads it: ``a JOIN b [ON c1 AND c2 ...]`` with
tables aliased by ``AS``; a JOIN without ON is read with no condition (ON conditions are not
compared anyway, so it matches when the rest agrees).  Qualified columns are resolved through one
alias map of the whole query (every ``x AS y``; the last wins), as the official parser does, even
for a table missing from FROM.  ``a b`` in SELECT (a missing comma) is two items; a trailing OFFSET
of the whole query is ignored; ``a = col OR ...`` reads as ``a = col`` (the official value scan
takes the rest up to the next AND).

A query outside the official grammar cannot be read: a prediction then does not match, and a gold
query has no EM verdict (reported, left out of the EM denominator).  Outside it are CTEs, UNION
ALL, CASE, functions other than the five aggregates, unknown tables or columns, and every form the
official parser refuses: LEFT / INNER / CROSS / NATURAL joins, comma joins, USING, a table alias
without AS or equal to a table name, a column alias with AS, ``t.*``, quoted names, a subquery in
FROM with an alias or after JOIN, a query without FROM, parenthesised conditions (``(a = 1 OR b =
2)``, ``ON (x = y)``), NOT other than ``x NOT IN / LIKE / BETWEEN`` (``NOT EXISTS``, ``IS NOT
NULL``), EXISTS, IS NULL, ``<>`` and ``==``, IN with several values, an aggregate or NULL as a
right-hand value, arithmetic on an aggregate in SELECT (``max(a) - min(a)``, unless in
parentheses), a subquery in two pairs of parentheses, a quote inside a string, an OFFSET that is
not the last clause of the whole query, and an explicit ``ON TRUE``.  ``docs/exact_match.md``
records the cross-check against the official script.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from sqlglot import exp
from sqlglot.dialects.sqlite import SQLite
from sqlglot.errors import TokenError
from sqlglot.tokens import TokenType

from lrsql_plugin.evaluation.execution import first_statement
from lrsql_plugin.schema.gold_tables import GoldTableError, parse_sqlite
from lrsql_plugin.schema.model import Database

PARTIAL_TYPES = ("select", "select(no AGG)", "where", "where(no OP)", "group(no Having)", "group", "order",
                 "and/or", "IUEN", "keywords")

_AGGREGATES = {exp.Max: "max", exp.Min: "min", exp.Count: "count", exp.Sum: "sum", exp.Avg: "avg"}
_UNIT_OPS = {exp.Sub: "-", exp.Add: "+", exp.Mul: "*", exp.Div: "/"}
_COND_OPS = {exp.EQ: "=", exp.GT: ">", exp.LT: "<", exp.GTE: ">=", exp.LTE: "<=", exp.NEQ: "!=", exp.Like: "like",
             exp.In: "in", exp.Between: "between", exp.Is: "is", exp.Exists: "exists"}
_SET_OPS = {exp.Union: "union", exp.Intersect: "intersect", exp.Except: "except"}
_ALL = "__all__"


class ExactMatchError(ValueError):
    """The query cannot be read into the official components."""


@dataclass(frozen=True, eq=False)  # hashed by identity: one per database, used as a cache key
class EMSchema:
    """Columns per table (lower case) and the foreign-key representative of each grouped column."""

    columns: Mapping[str, tuple[str, ...]]
    fk_map: Mapping[str, str]

    @classmethod
    def of(cls, database: Database) -> EMSchema:
        columns: dict[str, tuple[str, ...]] = {}
        index: dict[str, int] = {}
        n = 1  # tables.json numbers columns from 1 (0 is "*"), table by table
        for table in database.tables:
            t = table.name.lower()
            columns[t] = tuple(c.name.lower() for c in table.columns)
            for c in columns[t]:
                index[_col_id(t, c)] = n
                n += 1
        groups: list[set[str]] = []
        for table in database.tables:
            for fk in table.foreign_keys:
                a, b = _col_id(table.name.lower(), fk.column.lower()), _col_id(fk.ref_table.lower(), fk.ref_column.lower())
                if a not in index or b not in index:
                    continue
                group = next((g for g in groups if a in g or b in g), None)
                if group is None:
                    group = set()
                    groups.append(group)
                group.update((a, b))
        fk_map = {}
        for group in groups:
            representative = min(group, key=index.__getitem__)
            fk_map.update({col: representative for col in group})
        return cls(columns, fk_map)


def _col_id(table: str, column: str) -> str:
    return f"__{table}.{column}__"


@dataclass(frozen=True)
class EMVerdict:
    """The EM verdict on one pair: ``match``; ``reason`` names the components that differ;
    ``partial`` holds (label_total, pred_total, count) per component of PARTIAL_TYPES."""

    match: bool
    reason: str
    partial: Mapping[str, tuple[int, int, int]]


# ---------------------------------------------------------------------------------------------
# Reading a query into components


class _Reader:
    def __init__(self, schema: EMSchema, aliases: Mapping[str, str], as_names: frozenset[str]) -> None:
        self.schema = schema
        self.aliases = aliases  # every ``x AS y`` of the whole query: y -> x (the last one wins), as the official map
        self.as_names = as_names  # the names written after AS

    def query(self, node: exp.Expression, outer: list[dict[str, str]]) -> dict:
        node = _unwrap(node)
        if node.args.get("with_") or node.args.get("with"):
            raise ExactMatchError("WITH (common table expressions) is outside the official grammar")
        if isinstance(node, exp.SetOperation):
            parts: list[exp.Expression] = []
            ops: list[str] = []
            self._flatten_set(node, parts, ops)
            sqls = [self.select(_unwrap(p), outer, tail=None, last=False) for p in parts[:-1]]
            sqls.append(self.select(_unwrap(parts[-1]), outer, tail=node))
            for i, op in enumerate(ops):
                sqls[i][op] = sqls[i + 1]
            return sqls[0]
        return self.select(node, outer, tail=None)

    def _flatten_set(self, node: exp.Expression, parts: list, ops: list) -> None:
        if isinstance(node, exp.Union) and node.args.get("distinct") is False:
            raise ExactMatchError("UNION ALL is outside the official grammar")
        left = node.this
        if isinstance(left, exp.SetOperation) and not (left.args.get("order") or left.args.get("limit")):
            self._flatten_set(left, parts, ops)
        else:
            parts.append(left)
        ops.append(_SET_OPS[type(node)])
        parts.append(node.expression)

    def select(self, node: exp.Expression, outer: list[dict[str, str]], tail: exp.Expression | None, last: bool = True) -> dict:
        if not isinstance(node, exp.Select):
            raise ExactMatchError(f"{type(node).__name__} is outside the official grammar")
        if node.args.get("with_") or node.args.get("with"):
            raise ExactMatchError("WITH (common table expressions) is outside the official grammar")
        for key in ("offset", "qualify", "windows"):
            if node.args.get(key) or (tail is not None and tail.args.get(key)):
                # The official parser ignores what follows the end of the whole query, so a last OFFSET is
                # ignored there; before a set operation or inside parentheses it stops the parse.
                if key == "offset" and not outer and last:
                    continue
                raise ExactMatchError(f"{key.upper()} is outside the official grammar (except at the very end)")
        if not (node.args.get("from") or node.args.get("from_")):
            raise ExactMatchError("a query without FROM is outside the official grammar")
        aliases: dict[str, str] = {}
        table_units: list[tuple] = []
        default_tables: list[str] = []
        sources = [node.args["from"].this] if node.args.get("from") else []
        if node.args.get("from_"):
            sources = [node.args["from_"].this]
        joins = node.args.get("joins") or []
        for j in joins:
            _check_join(j)
        sources += [j.this for j in joins]
        for n, src in enumerate(sources):
            if isinstance(src, exp.Table):
                name = src.name.lower()
                if src.this is not None and src.this.args.get("quoted"):
                    raise ExactMatchError(f"a quoted table name ({src.name!r}) is outside the official grammar")
                if name not in self.schema.columns:
                    raise ExactMatchError(f"no table {src.name!r} in the schema")
                table_units.append(("table_unit", f"__{name}__"))
                default_tables.append(name)
                aliases[name] = name
                if src.alias:
                    alias = src.alias.lower()
                    if alias not in self.as_names:
                        raise ExactMatchError(f"a table alias without AS ({src.alias!r}) is outside the official grammar")
                    if alias in self.schema.columns:
                        raise ExactMatchError(f"alias {src.alias!r} is also a table name (the official parser refuses it)")
                    aliases[alias] = name
            elif isinstance(src, exp.Subquery) and n == 0 and not src.alias:
                table_units.append(("sql", self.query(src.this, [aliases, *outer])))
            elif isinstance(src, exp.Subquery):
                raise ExactMatchError("a subquery with an alias or after JOIN is outside the official grammar")
            else:
                raise ExactMatchError(f"{type(src).__name__} in FROM is outside the official grammar")
        scope = [aliases, *outer]
        ctx = (scope, default_tables)
        from_conds: list = []
        for j in joins:
            on = j.args.get("on")
            if on is None or _implicit_on(on):  # JOIN without ON: no condition, as the official parser reads it
                continue
            if from_conds:
                from_conds.append("and")
            from_conds += self.condition(on, ctx)
        select_items = []
        items: list[exp.Expression] = []
        for e in node.expressions:
            if isinstance(e, exp.Alias):
                if e.alias.lower() in self.as_names or e.args["alias"].args.get("quoted"):
                    raise ExactMatchError("a column alias (AS) in SELECT is outside the official grammar")
                items += [e.this, exp.column(e.alias)]  # ``a b``: two items to the official parser (a missing comma)
            else:
                items.append(e)
        for e in items:
            if type(e) in _UNIT_OPS and isinstance(_unwrap_paren(e.this), tuple(_AGGREGATES)):
                raise ExactMatchError(f"{e.sql(dialect='sqlite')!r}: arithmetic on an aggregate in SELECT is outside "
                                      "the official grammar (unless parenthesised)")
            agg = _AGGREGATES.get(type(e))
            if agg:
                select_items.append((agg, self.val_unit(e.this if not isinstance(e.this, exp.Distinct) else e, ctx, inner=True)))
            else:
                select_items.append(("none", self.val_unit(e, ctx)))
        where = self.condition(node.args["where"].this, ctx) if node.args.get("where") else []
        group = [self.col_unit(g, ctx) for g in node.args["group"].expressions] if node.args.get("group") else []
        having = self.condition(node.args["having"].this, ctx) if node.args.get("having") else []
        holder = tail if tail is not None else node
        order_node = holder.args.get("order") or (node.args.get("order") if tail is not None else None)
        order: tuple | list = []
        if order_node is not None:
            direction = "asc"
            terms = []
            for term in order_node.expressions:
                desc = term.args.get("desc") if isinstance(term, exp.Ordered) else None
                if desc is not None:
                    direction = "desc" if desc else "asc"
                terms.append(self.val_unit(term.this if isinstance(term, exp.Ordered) else term, ctx))
            order = (direction, terms)
        limit_node = holder.args.get("limit") or (node.args.get("limit") if tail is not None else None)
        limit = None
        if limit_node is not None:
            value = limit_node.expression if limit_node.expression is not None else limit_node.this
            if not (isinstance(value, exp.Literal) and not value.is_string):
                raise ExactMatchError("LIMIT must be a number")
            limit = int(float(value.this))
        return {
            "select": (bool(node.args.get("distinct")), select_items),
            "from": {"table_units": table_units, "conds": from_conds},
            "where": where,
            "groupBy": group,
            "having": having,
            "orderBy": order,
            "limit": limit,
            "intersect": None,
            "union": None,
            "except": None,
        }

    # -- units --------------------------------------------------------------------------------

    def val_unit(self, e: exp.Expression, ctx: tuple, inner: bool = False) -> tuple:
        e = _unwrap_paren(e)
        op = _UNIT_OPS.get(type(e))
        if op:
            return (op, self.col_unit(e.this, ctx), self.col_unit(e.expression, ctx))
        if inner and isinstance(e, tuple(_AGGREGATES)):  # SELECT count(DISTINCT x): the aggregate is outside
            return ("none", self.col_unit(e.this, ctx), None)
        return ("none", self.col_unit(e, ctx), None)

    def col_unit(self, e: exp.Expression, ctx: tuple) -> tuple:
        e = _unwrap_paren(e)
        agg = _AGGREGATES.get(type(e))
        if agg:
            agg_name, e = agg, _unwrap_paren(e.this)
        else:
            agg_name = "none"
        distinct = False
        if isinstance(e, exp.Distinct):
            if len(e.expressions) != 1:
                raise ExactMatchError("DISTINCT over several columns is outside the official grammar")
            distinct, e = True, _unwrap_paren(e.expressions[0])
        return (agg_name, self.column(e, ctx), distinct)

    def column(self, e: exp.Expression, ctx: tuple) -> str:
        _, default_tables = ctx
        if isinstance(e, exp.Star):
            return _ALL
        if not isinstance(e, exp.Column):
            raise ExactMatchError(f"{e.sql(dialect='sqlite')!r} is outside the official grammar (a column was expected)")
        name = e.name.lower()
        qualifier = e.table.lower()
        if isinstance(e.this, exp.Star):
            if qualifier:
                raise ExactMatchError(f"{e.table}.* is outside the official grammar")
            return _ALL
        if any(part.args.get("quoted") for part in e.parts):
            raise ExactMatchError(f"a quoted column name ({e.sql(dialect='sqlite')}) is outside the official grammar")
        if qualifier:
            # As the official parser: a table's own name, else the one alias map of the whole query
            # (``x AS y`` anywhere, the last one wins), whether or not the table is in this FROM.
            table = qualifier if qualifier in self.schema.columns else self.aliases.get(qualifier)
            if table is None or table not in self.schema.columns:
                raise ExactMatchError(f"unknown table or alias {e.table!r}")
            if name not in self.schema.columns[table]:
                raise ExactMatchError(f"no column {e.name!r} in table {table!r}")
            return _col_id(table, name)
        for table in default_tables:
            if name in self.schema.columns[table]:
                return _col_id(table, name)
        raise ExactMatchError(f"no column {e.name!r} in the FROM tables")

    def condition(self, e: exp.Expression, ctx: tuple) -> list:
        """Condition units joined by and/or in reading order.

        As the official parser reads a column on the right of an operator (``a = b``): it takes
        everything up to the next AND, comma, ``)`` or clause keyword as that value, so conditions
        joined to it by OR are not read (``a = b OR c = 1`` is ``a = b``).
        """
        units, connectors = _flatten(e)
        out: list = []
        swallowing = False
        for i, unit in enumerate(units):
            if i:
                if swallowing and connectors[i - 1] == "or":
                    continue
                out.append(connectors[i - 1])
            cond = self.cond_unit(unit, ctx)
            out.append(cond)
            last_value = cond[4] if cond[1] == "between" else cond[3]
            swallowing = isinstance(last_value, tuple) and cond[1] != "in"
        return out

    def cond_unit(self, e: exp.Expression, ctx: tuple) -> tuple:
        negated = False
        if isinstance(e, exp.Not):  # ``x NOT IN / LIKE / BETWEEN`` (a NOT elsewhere was refused on the tokens)
            negated, e = True, e.this
        op = _COND_OPS.get(type(e))
        if op is None or isinstance(e, exp.Exists):  # the official parser reads no EXISTS: it wants a column first
            raise ExactMatchError(f"condition {e.sql(dialect='sqlite')!r} is outside the official grammar")
        scope, _ = ctx
        left = self.val_unit(e.this, ctx)
        if isinstance(e, exp.Between):
            return (negated, op, left, self.value(e.args["low"], ctx), self.value(e.args["high"], ctx))
        if isinstance(e, exp.In):
            query = e.args.get("query")
            if query is not None:
                if isinstance(query, exp.Subquery) and isinstance(query.this, exp.Subquery):
                    raise ExactMatchError("a subquery in two pairs of parentheses is outside the official grammar")
                return (negated, op, left, self.query(query.this if isinstance(query, exp.Subquery) else query, scope), None)
            if len(e.expressions) != 1:
                raise ExactMatchError("IN with a list of several values is outside the official grammar")
            return (negated, op, left, self.value(e.expressions[0], ctx), None)
        return (negated, op, left, self.value(e.expression, ctx), None)

    def value(self, e: exp.Expression, ctx: tuple) -> object:
        """A right-hand operand as the official parser reads it: a subquery in one pair of
        parentheses, a string, a number, or a column (an expression that starts with a column is read
        as that column, the rest skipped); anything else (NULL, an aggregate, a quote inside a string)
        cannot be read."""
        if isinstance(e, exp.Subquery) and isinstance(e.this, exp.Subquery):
            raise ExactMatchError("a subquery in two pairs of parentheses is outside the official grammar")
        if isinstance(e, (exp.Subquery, exp.Select, exp.SetOperation)):
            return self.query(e.this if isinstance(e, exp.Subquery) else e, ctx[0])
        e = _unwrap_paren(e)
        if isinstance(e, exp.Literal):
            if e.is_string and ("'" in e.this or '"' in e.this):
                raise ExactMatchError("a string holding a quote is outside the official grammar (its tokenizer)")
            return e.this if e.is_string else float(e.this)
        if isinstance(e, exp.Neg) and isinstance(e.this, exp.Literal) and not e.this.is_string:
            return -float(e.this.this)
        if isinstance(e, exp.Column) and not e.table and e.this.args.get("quoted"):
            if "'" in e.name or '"' in e.name:
                raise ExactMatchError("a string holding a quote is outside the official grammar (its tokenizer)")
            return e.name  # "text": the official tokenizer reads every double-quoted token as a string
        while type(e) in _UNIT_OPS and isinstance(_unwrap_paren(e.this), exp.Column):
            e = _unwrap_paren(e.this)  # ``b + 1``: the official parser reads the column b and skips the rest
        if isinstance(e, (exp.Column, exp.Star)):
            return self.col_unit(e, ctx)
        raise ExactMatchError(f"value {e.sql(dialect='sqlite')!r} is outside the official grammar")


def _check_join(join: exp.Join) -> None:
    """The official parser reads ``a JOIN b [ON ...]`` only: no comma, no kind, no USING."""
    if join.args.get("kind") == "CROSS" and not (join.args.get("side") or join.args.get("method")):
        raise ExactMatchError("a comma join or CROSS JOIN is outside the official grammar")
    words = [join.args.get(k) for k in ("method", "side", "kind") if join.args.get(k)]
    if words:
        raise ExactMatchError(f"{' '.join(words).upper()} JOIN is outside the official grammar")
    if join.args.get("using"):
        raise ExactMatchError("JOIN ... USING is outside the official grammar")


def _implicit_on(on: exp.Expression) -> bool:
    """sqlglot's stand-in for a JOIN without ON (an explicit ``ON TRUE`` was refused on the tokens)."""
    return isinstance(on, exp.Boolean) and on.this is True


def _read_tokens(text: str) -> tuple[dict[str, str], frozenset[str]]:
    """Checks that need the tokens, as the official tokenizer and parser read them, and the alias map.

    Refused: a NOT that is not ``x NOT IN / LIKE / BETWEEN`` (``NOT x = 1``, ``NOT EXISTS``, ``IS NOT
    NULL``), the operators ``<>`` and ``==``, and an explicit ``ON TRUE``.  Returned: the official alias
    map of the whole query (every ``x AS y``: y -> x, the last one wins) and the names written after AS.
    """
    try:
        tokens = SQLite().tokenizer().tokenize(text)
    except TokenError as e:
        raise ExactMatchError(f"SQL does not tokenize: {e}") from e
    aliases: dict[str, str] = {}
    for i, tok in enumerate(tokens):
        after = tokens[i + 1] if i + 1 < len(tokens) else None
        if tok.token_type == TokenType.NOT and (after is None or after.token_type not in (TokenType.IN, TokenType.LIKE, TokenType.BETWEEN)):
            raise ExactMatchError("NOT is read by the official parser only in x NOT IN / NOT LIKE / NOT BETWEEN")
        if tok.token_type in (TokenType.NEQ, TokenType.EQ) and tok.text in ("<>", "=="):
            raise ExactMatchError(f"the operator {tok.text} is outside the official grammar")
        if tok.token_type == TokenType.ON and after is not None and after.token_type == TokenType.TRUE:
            raise ExactMatchError("ON TRUE is outside the official grammar")
        if tok.token_type == TokenType.ALIAS and after is not None and i:
            aliases[after.text.lower()] = tokens[i - 1].text.lower()
    return aliases, frozenset(aliases)


def _unwrap(node: exp.Expression) -> exp.Expression:
    while isinstance(node, (exp.Subquery, exp.Paren)) and node.this is not None and not node.args.get("alias"):
        node = node.this
    return node


def _unwrap_paren(node: exp.Expression) -> exp.Expression:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def _flatten(condition: exp.Expression) -> tuple[list[exp.Expression], list[str]]:
    """Conditions joined by AND/OR in reading order.  The official parser reads no parenthesised
    condition (``(a = 1 OR b = 2) AND c = 3``, ``ON (x = y)``): a parenthesis opens a value there."""
    if isinstance(condition, exp.Paren):
        raise ExactMatchError(f"a parenthesised condition ({condition.sql(dialect='sqlite')}) is outside the official grammar")
    if isinstance(condition, exp.Connector):
        left, left_c = _flatten(condition.this)
        right, right_c = _flatten(condition.expression)
        return left + right, [*left_c, "or" if isinstance(condition, exp.Or) else "and", *right_c]
    return [condition], []


# ---------------------------------------------------------------------------------------------
# Normalisation: values dropped, foreign keys unified, DISTINCT ignored


def _drop_values(sql: dict | None) -> None:
    if sql is None:
        return
    for key in ("where", "having"):
        sql[key] = _drop_condition_values(sql[key])
    sql["from"]["conds"] = _drop_condition_values(sql["from"]["conds"])
    for key in ("intersect", "union", "except"):
        _drop_values(sql[key])


def _drop_condition_values(condition: list) -> list:
    out = []
    for i, unit in enumerate(condition):
        if i % 2:
            out.append(unit)
            continue
        negated, op, left, v1, v2 = unit
        v1 = _nested_without_values(v1)
        v2 = _nested_without_values(v2)
        out.append((negated, op, left, v1, v2))
    return out


def _nested_without_values(value: object) -> dict | None:
    if isinstance(value, dict):
        _drop_values(value)
        return value
    return None


def _map_columns(sql: dict | None, valid: set[str], fk_map: Mapping[str, str]) -> None:
    if sql is None:
        return

    def col(unit: tuple | None) -> tuple | None:
        if unit is None:
            return None
        agg, col_id, _ = unit
        if col_id in valid and col_id in fk_map:
            col_id = fk_map[col_id]
        return (agg, col_id, None)

    def val(unit: tuple | None) -> tuple | None:
        return None if unit is None else (unit[0], col(unit[1]), col(unit[2]))

    def cond(condition: list) -> list:
        return [u if i % 2 else (u[0], u[1], val(u[2]), u[3], u[4]) for i, u in enumerate(condition)]

    sql["select"] = (None, [(agg, val(v)) for agg, v in sql["select"][1]])
    sql["from"]["conds"] = cond(sql["from"]["conds"])
    sql["where"] = cond(sql["where"])
    sql["having"] = cond(sql["having"])
    sql["groupBy"] = [col(c) for c in sql["groupBy"]]
    if sql["orderBy"]:
        sql["orderBy"] = (sql["orderBy"][0], [val(v) for v in sql["orderBy"][1]])
    for key in ("intersect", "union", "except"):
        _map_columns(sql[key], valid, fk_map)


def read_components(sql: str, schema: EMSchema, *, prediction: bool = False) -> dict:
    """The normalised components of ``sql``; raises ExactMatchError when it is outside the grammar."""
    text = first_statement(sql).strip().rstrip(";")
    if prediction:
        text = text.replace(" value ", " 1 ")  # the official placeholder for a value
    try:
        tree = parse_sqlite(text)
    except GoldTableError as e:
        raise ExactMatchError(str(e)) from e
    aliases, as_names = _read_tokens(text)
    components = _Reader(schema, aliases, as_names).query(tree, [])
    valid = {
        _col_id(unit[1][2:-2], c)
        for unit in components["from"]["table_units"] if unit[0] == "table_unit"
        for c in schema.columns[unit[1][2:-2]]
    }
    _drop_values(components)
    _map_columns(components, valid, schema.fk_map)
    return components


# ---------------------------------------------------------------------------------------------
# Comparison


def _multiset_hits(pred: list, label: list) -> int:
    remaining = list(label)
    hits = 0
    for unit in pred:
        if unit in remaining:
            hits += 1
            remaining.remove(unit)
    return hits


def _keywords(sql: dict) -> set[str]:
    found = set()
    for key, word in (("where", "where"), ("groupBy", "group"), ("having", "having")):
        if sql[key]:
            found.add(word)
    if sql["orderBy"]:
        found.update(("order", sql["orderBy"][0]))
    if sql["limit"] is not None:
        found.add("limit")
    found.update(k for k in ("except", "union", "intersect") if sql[k] is not None)
    conditions = [sql["from"]["conds"], sql["where"], sql["having"]]
    units = [u for c in conditions for u in c[::2]]
    if any("or" in c[1::2] for c in conditions):
        found.add("or")
    if any(u[0] for u in units):
        found.add("not")
    found.update(op for op in ("in", "like") if any(u[1] == op for u in units))
    return found


def _partial(pred: dict, label: dict) -> dict[str, tuple[int, int, int]]:
    """(label_total, pred_total, count) for each component, as the official partial scores count them."""
    out: dict[str, tuple[int, int, int]] = {}
    p_sel, l_sel = pred["select"][1], label["select"][1]
    out["select"] = (len(l_sel), len(p_sel), _multiset_hits(p_sel, l_sel))
    out["select(no AGG)"] = (len(l_sel), len(p_sel), _multiset_hits([u[1] for u in p_sel], [u[1] for u in l_sel]))
    p_where, l_where = pred["where"][::2], label["where"][::2]
    out["where"] = (len(l_where), len(p_where), _multiset_hits(p_where, l_where))
    out["where(no OP)"] = (len(l_where), len(p_where), _multiset_hits([u[2] for u in p_where], [u[2] for u in l_where]))

    def bare(col_id: str) -> str:
        return col_id.split(".")[1] if "." in col_id else col_id

    p_group, l_group = [u[1] for u in pred["groupBy"]], [u[1] for u in label["groupBy"]]
    out["group(no Having)"] = (len(l_group), len(p_group), _multiset_hits([bare(c) for c in p_group], [bare(c) for c in l_group]))
    p_tot, l_tot = int(bool(p_group)), int(bool(l_group))
    same_group = p_tot == l_tot == 1 and p_group == l_group and pred["having"] == label["having"]
    out["group"] = (l_tot, p_tot, int(same_group))
    p_tot, l_tot = int(bool(pred["orderBy"])), int(bool(label["orderBy"]))
    same_order = bool(label["orderBy"]) and pred["orderBy"] == label["orderBy"] and (
        (pred["limit"] is None) == (label["limit"] is None)
    )
    out["order"] = (l_tot, p_tot, int(same_order))
    p_ao, l_ao = set(pred["where"][1::2]), set(label["where"][1::2])
    out["and/or"] = (1, 1, 1) if p_ao == l_ao else (len(l_ao), len(p_ao), 0)
    totals = [0, 0, 0]
    for key in ("intersect", "except", "union"):
        p, l_ = pred[key], label[key]
        totals[0] += l_ is not None
        totals[1] += p is not None
        if p is not None and l_ is not None:
            totals[2] += _exact(p, l_)[0]
    out["IUEN"] = (totals[0], totals[1], totals[2])
    p_kw, l_kw = _keywords(pred), _keywords(label)
    out["keywords"] = (len(l_kw), len(p_kw), len(p_kw & l_kw))
    return out


def _f1_is_one(label_total: int, pred_total: int, count: int) -> bool:
    return label_total == pred_total and count == pred_total


def _table_key(unit: tuple) -> str:
    return repr(unit)


def _exact(pred: dict, label: dict) -> tuple[bool, list[str], dict[str, tuple[int, int, int]]]:
    partial = _partial(pred, label)
    differing = [k for k, v in partial.items() if not _f1_is_one(*v)]
    label_tables = sorted(map(_table_key, label["from"]["table_units"]))
    if not differing and label_tables and label_tables != sorted(map(_table_key, pred["from"]["table_units"])):
        differing.append("from tables")
    return not differing, differing, partial


EMPTY_COMPONENTS: dict = {
    "select": (False, []), "from": {"table_units": [], "conds": []}, "where": [], "groupBy": [], "having": [],
    "orderBy": [], "limit": None, "intersect": None, "union": None, "except": None,
}


def compare(pred: dict, label: dict) -> EMVerdict:
    """The EM verdict on two normalised component structures (``read_components``)."""
    match, differing, partial = _exact(pred, label)
    return EMVerdict(match, "exact match" if match else "differs in " + ", ".join(differing), partial)


@lru_cache(maxsize=65536)
def _cached_components(sql: str, schema: EMSchema, prediction: bool) -> dict | ExactMatchError:
    try:
        return read_components(sql, schema, prediction=prediction)
    except ExactMatchError as e:
        return e
    except RecursionError:
        return ExactMatchError("nested too deeply")


def exact_match(gold: str, prediction: str, schema: EMSchema) -> EMVerdict | None:
    """EM of ``prediction`` against ``gold``; None when the gold itself is outside the grammar
    (then ``gold_em_error`` says why).  A prediction outside the grammar does not match."""
    label = _cached_components(gold, schema, False)
    if isinstance(label, ExactMatchError):
        return None
    pred = _cached_components(prediction, schema, True)
    if isinstance(pred, ExactMatchError):
        empty = {**EMPTY_COMPONENTS, "from": {"table_units": [], "conds": []}}
        _, _, partial = _exact(empty, label)
        return EMVerdict(False, f"prediction not read: {pred}", partial)
    return compare(pred, label)


def gold_em_error(gold: str, schema: EMSchema) -> str:
    """Why ``gold`` has no EM verdict ("" when it has one)."""
    label = _cached_components(gold, schema, False)
    return str(label) if isinstance(label, ExactMatchError) else ""
