"""Schema dumps: a folder of ``<db_id>.sql`` files plus a JSONL of ``{db_id, question, sql?, tables?, evidence?}``.

Each file is a schema dump as ``mysqldump --no-data``, ``pg_dump --schema-only`` or any tool that
writes ``CREATE TABLE`` statements produces it (also ``<db_id>/<db_id>.sql``), read with sqlglot in
the dialect given.  The file is split into statements by a scanner that knows the dialect's quotes
(``'...'``, ``"..."``, backquotes, T-SQL brackets, PostgreSQL ``$tag$`` bodies) and comments
(``--``, ``#`` in MySQL, ``/* */``); MySQL's executable comments ``/*!40101 ... */`` are read as the
statements they hold, as the mysql client does, and ``DELIMITER`` lines (routines, triggers) and
T-SQL ``GO`` lines are honoured.  Only these statements are read, in file order:

- ``CREATE TABLE``: columns in declared order with their types *as the dump writes them*
  (``int unsigned``, ``varchar(255)``, ``character varying(100)``, ``numeric(10,2)``), inline and
  table-level primary keys, inline ``REFERENCES`` and table-level (``CONSTRAINT ...``) foreign keys
  (composite ones give one ``ForeignKey`` per column pair), column ``COMMENT '...'`` (MySQL,
  Snowflake) or ``OPTIONS(description=...)`` (BigQuery) as ``Column.description`` and the table's
  ``COMMENT=`` / ``OPTIONS(description=...)`` as ``Table.description``.  Table options sqlglot
  cannot read (e.g. MySQL partitioning) are dropped and the statement read again without them.
- ``ALTER TABLE ... ADD [CONSTRAINT c] PRIMARY KEY / FOREIGN KEY`` (pg_dump writes every key so).
- ``COMMENT ON COLUMN`` / ``COMMENT ON TABLE`` (PostgreSQL, Oracle, Snowflake) as descriptions.
- ``CREATE VIEW`` (any form, ``CREATE ALGORITHM=... DEFINER=... VIEW`` included): views are skipped
  and counted; a view also replaces a table of its name (mysqldump 5's stand-in tables).
- ``DROP TABLE``: the table is forgotten, as running the dump would.

Everything else (``SET``, ``LOCK TABLES``, sequences, indexes, types, functions, triggers, grants,
``SELECT pg_catalog.set_config(...)``, ``ALTER ... OWNER TO``) is noise and is not parsed.  A
``CREATE TABLE`` or key-adding ``ALTER TABLE`` that cannot be read is an ``InputError`` naming the
file, the line it starts on and its statement number; so is a table defined twice.

**Table names** drop their schema (dataset, database) qualifier: ``public.orders`` is ``orders``.
Only when the dump defines tables of one name in two schemas do those outside the default schema
(``public``, ``dbo``, ``main``) keep it (``audit.orders``).  Gold SQL naming ``public.orders`` or
``shop.orders`` still finds ``orders`` (``lrsql_plugin.schema.gold_tables``).  A foreign key to a
table the dump does not define, or without columns to a table without a primary key, is left out
(counted in the notes); ``ALTER TABLE`` and ``COMMENT ON`` of such a table are ignored.

A question gives its gold tables by ``sql`` (parsed later, in the dialect) or by ``tables`` (names
matched case-insensitively; they win when both are given); a record with neither is skipped.
The databases are not executable: ``SourceData.executable`` is False.
"""

from __future__ import annotations

import bisect
import logging
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.tokens import Token, TokenType

from lrsql_plugin.errors import InputError, Skipped
from lrsql_plugin.files import read_utf8
from lrsql_plugin.schema.model import Column, Database, Example, ForeignKey, Table
from lrsql_plugin.sources.base import SourceData, register_source
from lrsql_plugin.sources.examples_json import read_labelled_records

# Dialects whose dumps use MySQL's comments (``#``, ``/*!NNNNN ...*/``), backslash escapes and DELIMITER.
MYSQL_FAMILY = frozenset({"mysql", "singlestore", "doris", "starrocks"})
# Dialects with backslash escapes in '...' strings.
BACKSLASH_STRINGS = MYSQL_FAMILY | {"bigquery", "databricks", "spark", "spark2", "hive", "clickhouse"}
# Dialects with $tag$ ... $tag$ strings (function bodies).
DOLLAR_QUOTES = frozenset({"postgres", "redshift", "materialize", "risingwave", "duckdb", "snowflake"})
# Schemas whose tables keep the bare name even when another schema has a table of that name.
DEFAULT_SCHEMAS = frozenset({"public", "dbo", "main"})

_IDENT = r'(?:`(?:[^`]|``)*`|"(?:[^"]|"")*"|\[(?:[^\]]|\]\])*\]|[^\s.,;()`"\[\]=@]+)'
_QNAME = rf"{_IDENT}(?:\s*\.\s*{_IDENT})*"
_CREATE_TABLE = re.compile(
    r"CREATE\s+(?:OR\s+REPLACE\s+)?(?:(?:GLOBAL|LOCAL|TEMP|TEMPORARY|UNLOGGED|TRANSIENT|VOLATILE|MULTISET)\s+)*TABLE\b",
    re.I,
)
_CREATE_VIEW = re.compile(
    rf"CREATE\s+(?:OR\s+(?:REPLACE|ALTER)\s+)?(?:ALGORITHM\s*=\s*\w+\s+)?"
    rf"(?:DEFINER\s*=\s*{_IDENT}(?:\s*@\s*{_IDENT})?\s+)?(?:SQL\s+SECURITY\s+\w+\s+)?"
    rf"(?:(?:TEMP|TEMPORARY|MATERIALIZED|RECURSIVE|SECURE|FORCE|NOFORCE|EDITIONABLE|NONEDITIONABLE)\s+)*"
    rf"VIEW\s+(?:IF\s+NOT\s+EXISTS\s+)?(?P<name>{_QNAME})",
    re.I,
)
_DROP_TABLE = re.compile(r"DROP\s+(?:TEMPORARY\s+)?TABLE\b", re.I)
_ALTER_TABLE = re.compile(r"ALTER\s+TABLE\b", re.I)
_ADD_KEY = re.compile(rf"\bADD\s+(?:CONSTRAINT\s+{_IDENT}\s+)?(?:PRIMARY|FOREIGN)\s+KEY\b", re.I)
_COMMENT_ON = re.compile(r"COMMENT\s+ON\s+(?:COLUMN|TABLE)\b", re.I)
_DELIMITER = re.compile(r"[ \t]*DELIMITER[ \t]+(\S+)[ \t]*(?:\r?\n|$)", re.I)
_GO = re.compile(r"[ \t]*GO(?:[ \t]+\d+)?[ \t]*(?:\r?\n|$)", re.I)
_DOLLAR = re.compile(r"\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$")

# Words that end a column's type in its definition (the constraints and options that follow it).
_TYPE_STOP = frozenset({
    "NOT", "NULL", "DEFAULT", "PRIMARY", "KEY", "UNIQUE", "REFERENCES", "CHECK", "CONSTRAINT", "COLLATE",
    "CHARSET", "COMMENT", "AUTO_INCREMENT", "AUTOINCREMENT", "IDENTITY", "GENERATED", "AS", "ON", "WITH",
    "OPTIONS", "ENCODE", "INVISIBLE", "VISIBLE", "STORED", "VIRTUAL", "SRID", "COLUMN_FORMAT", "STORAGE",
    "ENGINE_ATTRIBUTE", "SECONDARY_ENGINE_ATTRIBUTE", "MASKING", "TAG", "SPARSE", "ROWGUIDCOL",
    "FILESTREAM", "COMPRESSION", "ASC", "DESC", "ENABLE", "DISABLE", "MATERIALIZED", "ALIAS", "CODEC",
    "TTL", "EPHEMERAL", "HIDDEN", "ENCRYPTED",
})


@dataclass(frozen=True)
class Statement:
    """One statement of a dump: its text with comments blanked out, its 1-based number and first line."""

    text: str
    number: int
    line: int


@dataclass
class DumpFacts:
    """What reading one dump found besides the tables (for the conversion notes)."""

    views: set[str] = field(default_factory=set)
    foreign_keys_left_out: int = 0
    options_dropped: list[str] = field(default_factory=list)  # tables whose unreadable options were dropped
    comments_unread: int = 0  # COMMENT ON statements sqlglot could not read


@dataclass
class _Draft:
    name: str
    qualifier: str  # "schema" or "catalog.schema" as written, "" when none
    columns: list[Column]
    primary_key: list[str]
    foreign_keys: list[tuple[list[str], exp.Table, list[str], Statement]]
    description: str
    statement: Statement


# --------------------------------------------------------------------------------------------- splitting


def split_statements(text: str, dialect: str, path: str = "") -> list[Statement]:
    """The dump's statements, comments blanked out (MySQL executable comments unwrapped)."""
    mysql, tsql = dialect in MYSQL_FAMILY, dialect == "tsql"
    backslash, dollar = dialect in BACKSLASH_STRINGS, dialect in DOLLAR_QUOTES
    out: list[Statement] = []
    buf: list[str] = []
    delimiter = ";"
    line, start_line = 1, 0  # start_line: where the statement's first non-comment text is (0: none yet)
    in_exec = False  # inside /*! ... */
    i, n = 0, len(text)

    def flush() -> None:
        nonlocal start_line
        stmt = "".join(buf).strip()
        buf.clear()
        if stmt:
            out.append(Statement(stmt, len(out) + 1, start_line))
        start_line = 0

    def unterminated(what: str, at: int) -> InputError:
        return InputError(path, f"the dump ends inside {what} that starts on this line", record=f"line {at}")

    while i < n:
        at_line_start = i == 0 or text[i - 1] == "\n"
        if at_line_start and not in_exec:
            if mysql and not start_line and (m := _DELIMITER.match(text, i)):
                delimiter = m.group(1)
                line += m.group(0).count("\n")
                i = m.end()
                continue
            if tsql and (m := _GO.match(text, i)):
                flush()
                line += m.group(0).count("\n")
                i = m.end()
                continue
        c = text[i]
        if c == "\n":
            line += 1
        if c.isspace():
            buf.append(c)
            i += 1
            continue
        nxt = text[i + 1] if i + 1 < n else ""
        # comments
        if c == "-" and nxt == "-" and (not mysql or i + 2 >= n or text[i + 2].isspace()):
            j = text.find("\n", i)
            i = n if j < 0 else j
            buf.append(" ")
            continue
        if c == "#" and mysql:
            j = text.find("\n", i)
            i = n if j < 0 else j
            buf.append(" ")
            continue
        if c == "/" and nxt == "*":
            if mysql and text.startswith("/*!", i):
                i += 3
                while i < n and text[i].isdigit():
                    i += 1
                in_exec = True
                buf.append(" ")
                start_line = start_line or line
                continue
            begin, depth, i = line, 1, i + 2
            nested = dialect in DOLLAR_QUOTES
            while i < n and depth:
                if text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                elif nested and text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                else:
                    line += text[i] == "\n"
                    i += 1
            if depth:
                raise unterminated("a /* comment", begin)
            buf.append(" ")
            continue
        if in_exec and c == "*" and nxt == "/":
            in_exec = False
            buf.append(" ")
            i += 2
            continue
        start_line = start_line or line  # not a comment: the statement has begun
        # quotes
        close = {"'": "'", '"': '"', "`": "`"}.get(c) or ("]" if c == "[" and tsql else "")
        if close:
            begin = line
            esc = c in "'\"" and (backslash or (c == "'" and dialect == "postgres" and bool(buf) and buf[-1] in ("e", "E")))
            j = i + 1
            while True:
                if j >= n:
                    raise unterminated("a quoted string or name", begin)
                ch = text[j]
                if esc and ch == "\\":
                    j += 2
                    continue
                if ch == close:
                    if text.startswith(close * 2, j):
                        j += 2
                        continue
                    break
                j += 1
            chunk = text[i : j + 1]
            line += chunk.count("\n")
            buf.append(chunk)
            i = j + 1
            continue
        if c == "$" and dollar and not (buf and (buf[-1].isalnum() or buf[-1] == "_")) and (m := _DOLLAR.match(text, i)):
            tag = m.group(0)
            j = text.find(tag, m.end())
            if j < 0:
                raise unterminated(f"a {tag} quoted body", line)
            chunk = text[i : j + len(tag)]
            line += chunk.count("\n")
            buf.append(chunk)
            i = j + len(tag)
            continue
        if text.startswith(delimiter, i):
            flush()
            i += len(delimiter)
            continue
        buf.append(c)
        i += 1
    if in_exec:
        raise unterminated("a /*! comment", start_line or line)
    flush()
    return out


# --------------------------------------------------------------------------------------------- reading


def parse_schema_dump(text: str, dialect: str, db_id: str, path: str) -> Database:
    """The tables a schema dump defines (see the module docstring)."""
    return read_schema_dump(text, dialect, db_id, path)[0]


def read_schema_dump(text: str, dialect: str, db_id: str, path: str) -> tuple[Database, DumpFacts]:
    """``parse_schema_dump`` plus what else the dump held (views, left-out foreign keys, ...)."""
    facts = DumpFacts()
    drafts: dict[tuple[str, str], _Draft] = {}
    for stmt in split_statements(text, dialect, path):
        head = stmt.text
        if _CREATE_TABLE.match(head):
            draft = _read_create_table(stmt, dialect, path, facts)
            key = _key(draft.qualifier, draft.name)
            old = drafts.get(key)
            if old is not None and not re.match(r"CREATE\s+OR\s+REPLACE\b", head, re.I):
                if re.search(r"\bIF\s+NOT\s+EXISTS\b", head[:200], re.I):
                    continue
                raise _error(path, stmt, f"table {draft.name!r} is already defined by statement {old.statement.number}"
                             + (" (lrsql matches table names case-insensitively)" if old.name != draft.name else ""))
            drafts[key] = draft
        elif m := _CREATE_VIEW.match(head):
            qual, name = _split_qname(m.group("name"))
            facts.views.add(_join(qual, name).lower())
            drafts.pop(_key(qual, name), None)
        elif _DROP_TABLE.match(head):
            try:
                tree = _parse(head, dialect)
            except SqlglotError:
                continue
            for t in (tree.args.get("tables") or []) if isinstance(tree, exp.Drop) else []:
                if isinstance(t, exp.Table) and (found := _find(drafts, t)):
                    drafts.pop(_key(found.qualifier, found.name))
        elif _ALTER_TABLE.match(head) and _ADD_KEY.search(head):
            _read_alter_keys(stmt, dialect, path, drafts)
        elif _COMMENT_ON.match(head):
            _read_comment(stmt, drafts, facts)
    if not drafts:
        raise InputError(path, "no CREATE TABLE statement found (is this a schema dump?)")
    return _finish(db_id, list(drafts.values()), facts), facts


def _error(path: str, stmt: Statement, reason: str) -> InputError:
    return InputError(path, f"statement {stmt.number} ({_summary(stmt.text)}): {reason}", record=f"line {stmt.line}")


def _summary(text: str) -> str:
    words = " ".join(text.split())
    m = re.match(rf"(CREATE\s+.*?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?{_QNAME}|ALTER\s+TABLE\s+(?:ONLY\s+)?{_QNAME})", words, re.I)
    return m.group(0) if m else words[:40]


def _first_line(e: Exception) -> str:
    return str(e).splitlines()[0] if str(e) else type(e).__name__


def _key(qualifier: str, name: str) -> tuple[str, str]:
    return qualifier.lower(), name.lower()


def _join(qualifier: str, name: str) -> str:
    return f"{qualifier}.{name}" if qualifier else name


def _unquote(part: str) -> str:
    for a, b in ('``', '""', "[]"):
        if len(part) >= 2 and part[0] == a[0] and part[-1] == b[-1]:
            return part[1:-1].replace(b[-1] * 2, b[-1])
    return part


def _split_qname(text: str) -> tuple[str, str]:
    parts = [_unquote(p.strip()) for p in re.findall(_IDENT, text)]
    if len(parts) == 1 and "." in parts[0] and text.strip().startswith("`"):  # BigQuery `project.dataset.table`
        parts = parts[0].split(".")
    return ".".join(parts[:-1]), parts[-1]


def _qualifier(table: exp.Table) -> str:
    return ".".join(p for p in (table.text("catalog"), table.text("db")) if p)


def _find(drafts: dict[tuple[str, str], _Draft], table: exp.Table) -> _Draft | None:
    """The draft ``table`` names: exact qualifier first, else the only table of that name."""
    exact = drafts.get(_key(_qualifier(table), table.name))
    if exact is not None:
        return exact
    same = [d for d in drafts.values() if d.name.lower() == table.name.lower()]
    return same[0] if len(same) == 1 else None


def _names(nodes: list[exp.Expression] | None) -> list[str]:
    out = []
    for node in nodes or []:
        if isinstance(node, exp.Ordered):
            node = node.this
        if isinstance(node, exp.Expression) and node.name:
            out.append(node.name)
    return out


def _reference(ref: exp.Expression | None) -> tuple[exp.Table | None, list[str]]:
    """The table and columns of a ``REFERENCES t (a, b)`` node."""
    target = ref.this if isinstance(ref, exp.Reference) else ref
    if isinstance(target, exp.Schema):
        return (target.this if isinstance(target.this, exp.Table) else None), _names(target.expressions)
    return (target if isinstance(target, exp.Table) else None), []


def _literal_text(node: exp.Expression | None) -> str:
    return node.name.strip() if isinstance(node, exp.Literal) and node.is_string else ""


def _description(props: exp.Expression | None) -> str:
    """A table's ``COMMENT=``/``COMMENT '...'`` or ``OPTIONS(description=...)`` among its properties."""
    for p in props.expressions if isinstance(props, exp.Properties) else []:
        if isinstance(p, exp.SchemaCommentProperty):
            return _literal_text(p.this)
        if isinstance(p, exp.Property) and p.name.lower() == "description":
            return _literal_text(p.args.get("value"))
    return ""


def _parse(text: str, dialect: str) -> exp.Expression:
    """sqlglot's tree of one statement; its "falling back to a Command" warning is not shown."""
    log = logging.getLogger("sqlglot")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        return sqlglot.parse_one(text, read=dialect)
    finally:
        log.setLevel(level)


def _parse_create(text: str, dialect: str) -> exp.Expression:
    tree = _parse(text, dialect)
    if isinstance(tree, exp.Command):  # sqlglot gave up on part of it
        raise SqlglotError("unsupported syntax")
    if not isinstance(tree, exp.Create) or not isinstance(tree.this, exp.Schema):
        raise _NoColumns()
    return tree


class _NoColumns(Exception):
    pass


def _read_create_table(stmt: Statement, dialect: str, path: str, facts: DumpFacts) -> _Draft:
    text = stmt.text
    try:
        tokens = sqlglot.Dialect.get_or_raise(dialect).tokenize(text)
    except SqlglotError as e:
        raise _error(path, stmt, f"sqlglot cannot read it ({_first_line(e)})") from e
    close = _column_list_end(tokens)
    try:
        tree = _parse_create(text, dialect)
        dropped = False
    except _NoColumns:
        raise _error(path, stmt, "no column list (CREATE TABLE ... AS / LIKE / CLONE cannot be read)") from None
    except SqlglotError as e:
        # the table options may be what sqlglot cannot read: try the column list alone
        if close is None or not text[close.end + 1 :].strip():
            raise _error(path, stmt, f"sqlglot cannot read it ({_first_line(e)})") from e
        try:
            tree = _parse_create(text[: close.end + 1], dialect)
            dropped = True
        except (SqlglotError, _NoColumns):
            raise _error(path, stmt, f"sqlglot cannot read it ({_first_line(e)})") from e
    schema = tree.this
    table = schema.this
    if not isinstance(table, exp.Table) or not table.name:
        raise _error(path, stmt, "no table name")
    columns: list[Column] = []
    pk: list[str] = []
    fks: list[tuple[list[str], exp.Table, list[str], Statement]] = []

    def add_fk(local: list[str], ref: exp.Expression | None) -> None:
        ref_table, ref_cols = _reference(ref)
        if ref_table is None or not local:
            return
        if ref_cols and len(ref_cols) != len(local):
            raise _error(path, stmt, f"foreign key ({', '.join(local)}) references {len(ref_cols)} column(s)")
        fks.append((local, ref_table, ref_cols, stmt))

    def add_constraints(nodes: list[exp.Expression]) -> None:
        for k, node in enumerate(nodes):
            if isinstance(node, exp.PrimaryKey):
                pk.extend(_names(node.expressions))
            elif isinstance(node, exp.PrimaryKeyColumnConstraint):  # T-SQL: PRIMARY KEY CLUSTERED (a, b)
                following = nodes[k + 1] if k + 1 < len(nodes) else None
                if isinstance(following, (exp.ClusteredColumnConstraint, exp.NonClusteredColumnConstraint)):
                    pk.extend(_names(following.this if isinstance(following.this, list) else [following.this]))
            elif isinstance(node, exp.ForeignKey):
                add_fk(_names(node.expressions), node.args.get("reference"))

    for item in schema.expressions:
        if isinstance(item, exp.Identifier):  # an untyped column (SQLite)
            columns.append(Column(name=item.name))
        elif isinstance(item, exp.ColumnDef):
            description = ""
            for cons in item.constraints:
                kind = cons.args.get("kind")
                if isinstance(kind, exp.PrimaryKeyColumnConstraint):
                    pk.append(item.name)
                elif isinstance(kind, exp.Reference):
                    add_fk([item.name], kind)
                elif isinstance(kind, exp.CommentColumnConstraint):
                    description = _literal_text(kind.this)
                elif isinstance(kind, exp.Properties):
                    description = _description(kind) or description
            columns.append(Column(name=item.name, type=_type_text(item, text, tokens, dialect), description=description))
        elif isinstance(item, exp.Constraint):
            add_constraints(list(item.expressions))
        else:
            add_constraints([item])
    if not columns:
        raise _error(path, stmt, "no columns")
    seen: set[str] = set()
    for c in columns:
        if c.name.lower() in seen:
            raise _error(path, stmt, f"column {c.name!r} is declared twice")
        seen.add(c.name.lower())
    name = _join(_qualifier(table), table.name)
    if dropped:
        facts.options_dropped.append(name)
    return _Draft(
        name=table.name, qualifier=_qualifier(table), columns=columns, primary_key=_dedupe(pk), foreign_keys=fks,
        description=_description(tree.args.get("properties")), statement=stmt,
    )


def _dedupe(names: list[str]) -> list[str]:
    seen: dict[str, str] = {}
    for n in names:
        seen.setdefault(n.lower(), n)
    return list(seen.values())


def _column_list_end(tokens: list[Token]) -> Token | None:
    """The ``)`` closing a CREATE TABLE's column list."""
    depth = 0
    for tok in tokens:
        if tok.token_type == TokenType.L_PAREN:
            depth += 1
        elif tok.token_type == TokenType.R_PAREN:
            depth -= 1
            if depth == 0:
                return tok
    return None


def _type_text(col: exp.ColumnDef, text: str, tokens: list[Token], dialect: str) -> str:
    """The column's type as the statement spells it (sqlglot's rendering when the tokens do not say)."""
    end = col.this.meta.get("end") if isinstance(col.this, exp.Identifier) else None
    fallback = col.args["kind"].sql(dialect=dialect).lower() if col.args.get("kind") else ""
    if end is None:
        return fallback
    first = last = None
    depth = 0
    idx = bisect.bisect_right([t.start for t in tokens], end)
    for k in range(idx, len(tokens)):
        tok = tokens[k]
        word = tok.text.upper().split()[0] if tok.token_type != TokenType.STRING and tok.text.strip() else ""
        if depth == 0:
            if tok.token_type in (TokenType.COMMA, TokenType.R_PAREN):
                break
            if tok.token_type not in (TokenType.IDENTIFIER, TokenType.STRING) and (
                word in _TYPE_STOP
                and not (word == "WITH" and _next_word(tokens, k) in ("TIME", "LOCAL"))  # timestamp with time zone
                or (word in ("CHARACTER", "CHAR") and _next_word(tokens, k) == "SET")
            ):
                break
        if tok.token_type in (TokenType.L_PAREN, TokenType.LT, TokenType.L_BRACKET):
            depth += 1
        elif tok.token_type in (TokenType.R_PAREN, TokenType.GT, TokenType.R_BRACKET):
            depth = max(depth - 1, 0)
        first = first or tok
        last = tok
    if first is None or last is None:
        return fallback
    spelled = " ".join(text[first.start : last.end + 1].split())
    if dialect == "tsql":
        spelled = re.sub(r"\[([^\]]*)\]", r"\1", spelled)
    return spelled


def _next_word(tokens: list[Token], k: int) -> str:
    return tokens[k + 1].text.upper() if k + 1 < len(tokens) else ""


def _read_alter_keys(stmt: Statement, dialect: str, path: str, drafts: dict[tuple[str, str], _Draft]) -> None:
    try:
        tree = _parse(stmt.text, dialect)
    except SqlglotError as e:
        raise _error(path, stmt, f"sqlglot cannot read this key ({_first_line(e)})") from e
    if not isinstance(tree, exp.Alter) or not isinstance(tree.this, exp.Table):
        raise _error(path, stmt, "sqlglot cannot read this key")
    draft = _find(drafts, tree.this)
    if draft is None:
        return
    for action in tree.args.get("actions") or []:
        nodes = action.expressions if isinstance(action, exp.AddConstraint) else [action]
        for node in nodes:
            inner = node.expressions if isinstance(node, exp.Constraint) else [node]
            for k, part in enumerate(inner):
                if isinstance(part, exp.PrimaryKey):
                    draft.primary_key = _dedupe(draft.primary_key + _names(part.expressions))
                elif isinstance(part, exp.PrimaryKeyColumnConstraint):
                    following = inner[k + 1] if k + 1 < len(inner) else None
                    if isinstance(following, (exp.ClusteredColumnConstraint, exp.NonClusteredColumnConstraint)):
                        cols = following.this if isinstance(following.this, list) else [following.this]
                        draft.primary_key = _dedupe(draft.primary_key + _names(cols))
                elif isinstance(part, exp.ForeignKey):
                    local = _names(part.expressions)
                    ref_table, ref_cols = _reference(part.args.get("reference"))
                    if ref_table is None or not local:
                        continue
                    if ref_cols and len(ref_cols) != len(local):
                        raise _error(path, stmt, f"foreign key ({', '.join(local)}) references {len(ref_cols)} column(s)")
                    draft.foreign_keys.append((local, ref_table, ref_cols, stmt))


def _read_comment(stmt: Statement, drafts: dict[tuple[str, str], _Draft], facts: DumpFacts) -> None:
    """``COMMENT ON TABLE t IS '...'`` / ``COMMENT ON COLUMN t.c IS '...'`` (read here: sqlglot lacks E'...')."""
    m = _COMMENT_STMT.fullmatch(stmt.text)
    value = _comment_value(m.group("value")) if m else None
    if m is None or value is None:
        facts.comments_unread += 1
        return
    parts = [_unquote(p) for p in re.findall(_IDENT, m.group("name"))]
    column = parts.pop() if m.group("kind").upper() == "COLUMN" else None
    if not parts:
        facts.comments_unread += 1
        return
    qualifier = exp.to_identifier(".".join(parts[:-1])) if parts[:-1] else None
    draft = _find(drafts, exp.Table(this=exp.to_identifier(parts[-1]), db=qualifier))
    if draft is None:
        return
    if column is None:
        draft.description = value
    else:
        draft.columns = [replace(c, description=value) if c.name.lower() == column.lower() else c for c in draft.columns]


_COMMENT_STMT = re.compile(rf"COMMENT\s+ON\s+(?P<kind>COLUMN|TABLE)\s+(?P<name>{_QNAME})\s+IS\s+(?P<value>.*)", re.I | re.S)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}


def _comment_value(text: str) -> str | None:
    """The text of ``'...'``, ``E'...'``, ``$$...$$`` or NULL (""); None for anything else."""
    text = text.strip()
    if text.upper() == "NULL":
        return ""
    if m := re.fullmatch(r"'((?:[^']|'')*)'", text, re.S):
        return m.group(1).replace("''", "'").strip()
    if m := re.fullmatch(r"[eE]'((?:[^'\\]|''|\\.)*)'", text, re.S):
        body = re.sub(r"\\(.)", lambda e: _ESCAPES.get(e.group(1), e.group(1)), m.group(1).replace("''", "'"))
        return body.strip()
    if m := re.fullmatch(r"(\$(?:[A-Za-z_]\w*)?\$)(.*)\1", text, re.S):
        return m.group(2).strip()
    return None


def _finish(db_id: str, drafts: list[_Draft], facts: DumpFacts) -> Database:
    """Name the tables (see the module docstring) and resolve their keys."""
    by_name: dict[str, list[_Draft]] = {}
    for d in drafts:
        by_name.setdefault(d.name.lower(), []).append(d)
    final: dict[int, str] = {}
    for group in by_name.values():
        for d in group:
            bare = len(group) == 1 or d.qualifier.split(".")[-1].lower() in DEFAULT_SCHEMAS or not d.qualifier
            final[id(d)] = d.name if bare else _join(d.qualifier, d.name)
    index = {_key(d.qualifier, d.name): d for d in drafts}

    def spell(d: _Draft, col: str) -> str:
        found = next((c.name for c in d.columns if c.name.lower() == col.lower()), None)
        return found or col

    tables = []
    for d in drafts:
        fks: list[ForeignKey] = []
        for local, ref_table, ref_cols, _stmt in d.foreign_keys:
            target = _find(index, ref_table)
            cols = ref_cols or (target.primary_key if target else [])
            if target is None or len(cols) != len(local):
                facts.foreign_keys_left_out += 1
                continue
            for a, b in zip(local, cols):
                fk = ForeignKey(column=spell(d, a), ref_table=final[id(target)], ref_column=spell(target, b))
                if fk not in fks:
                    fks.append(fk)
        tables.append(
            Table(
                name=final[id(d)], columns=d.columns, primary_key=[spell(d, c) for c in d.primary_key],
                foreign_keys=fks, description=d.description,
            )
        )
    return Database(db_id=db_id, tables=tables)


# --------------------------------------------------------------------------------------------- source


def _dump_files(ddl_dir: Path) -> dict[str, Path]:
    files = {p.stem: p for p in sorted(ddl_dir.glob("*/*.sql")) if p.stem == p.parent.name}
    files.update({p.stem: p for p in sorted(ddl_dir.glob("*.sql")) if p.is_file()})
    return dict(sorted(files.items()))


@register_source("ddl")
def load_ddl_dir(ddl_dir: str | Path, questions: str | Path, dialect: str, *, sql_optional: bool = False) -> SourceData:
    """Every ``<db_id>.sql`` schema dump in ``ddl_dir`` and the questions of ``questions``; ``sql_optional``
    (inference) keeps questions with neither ``sql`` nor ``tables``."""
    ddl_dir, qfile = Path(ddl_dir), Path(questions)
    try:
        sqlglot.Dialect.get_or_raise(dialect)
    except (ValueError, SqlglotError) as e:
        raise InputError("--dialect", f"unknown SQL dialect {dialect!r}") from e
    if not ddl_dir.is_dir():
        raise InputError(str(ddl_dir), "schema dump folder not found")
    files = _dump_files(ddl_dir)
    if not files:
        raise InputError(str(ddl_dir), "no <db_id>.sql schema dump in the folder")
    records, labels = read_labelled_records(qfile)
    databases: dict[str, Database] = {}
    views = fks_out = comments = 0
    notes: list[str] = []
    for db_id, path in files.items():
        db, facts = read_schema_dump(read_utf8(path), dialect, db_id, str(path))
        databases[db_id] = db
        views, fks_out, comments = views + len(facts.views), fks_out + facts.foreign_keys_left_out, comments + facts.comments_unread
        if facts.options_dropped:
            notes.append(f"{path}: table options sqlglot cannot read were left out for {', '.join(facts.options_dropped)}")
    n_tables = sum(len(db.tables) for db in databases.values())
    n_fks = sum(len(t.foreign_keys) for db in databases.values() for t in db.tables)
    n_desc = sum(bool(c.description) for db in databases.values() for t in db.tables for c in t.columns)
    line = (
        f"ddl ({dialect}): {len(databases)} database{'s' * (len(databases) != 1)}, {n_tables} tables, "
        f"{n_fks} foreign-key columns, {n_desc} column descriptions"
    )
    extras = [f"{views} view{'s' * (views != 1)} skipped"] if views else []
    if fks_out:
        extras.append(f"{fks_out} foreign key(s) to tables the dumps do not define left out")
    if comments:
        extras.append(f"{comments} COMMENT ON statement(s) sqlglot cannot read ignored")
    notes.insert(0, line + ("; " + "; ".join(extras) if extras else ""))
    skipped: list[Skipped] = []
    examples = _examples(qfile, records, labels, databases, dialect, skipped, ddl_dir, sql_optional)
    return SourceData(
        name="ddl", databases=databases, examples=examples, skipped=skipped, db_root=None, notes=notes,
        dialect=dialect, executable=False,
    )


def _examples(
    qfile: Path, records: list[object], labels: list[str | int], databases: dict[str, Database], dialect: str,
    skipped: list[Skipped], ddl_dir: Path, sql_optional: bool = False,
) -> list[Example]:
    """Examples of the records with a question, a known db_id and a gold SQL or gold tables; others are skipped."""
    out: list[Example] = []
    for i, rec in enumerate(records):
        where = labels[i]

        def skip(reason: str) -> None:
            skipped.append(Skipped(str(qfile), where, reason))  # noqa: B023  (called in this iteration only)

        if not isinstance(rec, dict):
            skip("record is not an object")
            continue
        missing = [k for k in ("db_id", "question") if not isinstance(rec.get(k), str)]
        if missing:
            skip(f"missing or non-string field(s): {', '.join(missing)}")
            continue
        db = databases.get(rec["db_id"])
        if db is None:
            skip(f"db_id {rec['db_id']!r} has no {rec['db_id']}.sql in {ddl_dir}")
            continue
        sql = rec.get("sql")
        if sql is not None and not isinstance(sql, str):
            skip("sql is not a string")
            continue
        sql = (sql or "").strip()
        given = rec.get("tables")
        gold: tuple[str, ...] | None = None
        if given is not None:
            if not isinstance(given, list) or not given or not all(isinstance(t, str) and t.strip() for t in given):
                skip("tables is not a non-empty list of table names")
                continue
            unknown = [t for t in given if db.canonical(t.strip()) is None]
            if unknown:
                skip(f"tables not in database {db.db_id!r}: {', '.join(unknown)}")
                continue
            gold = tuple(t.name for t in db.subset([t.strip() for t in given]))
        elif not sql and not sql_optional:
            skip("neither sql nor tables: no gold tables")
            continue
        out.append(
            Example(
                db_id=rec["db_id"],
                question=rec["question"].strip(),
                sql=sql,
                source_file=str(qfile),
                index=i,
                evidence=str(rec.get("evidence") or "").strip(),
                difficulty=str(rec.get("difficulty") or ""),
                question_id=str(rec.get("question_id", i)),
                gold_tables=gold,
                dialect=dialect,
            )
        )
    return out
