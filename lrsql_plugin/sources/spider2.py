"""Spider 2.0-lite: enterprise schemas (BigQuery, Snowflake, SQLite) with questions and gold tables.

Layout (``DIR`` is the ``--spider2-dir``)::

    DIR/spider2-lite.jsonl                  instance_id, db, question, external_knowledge (or null)
    DIR/spider2-lite-gold-tables.jsonl      instance_id, gold_tables (full names)
    DIR/resource/databases/<engine>/<db>/[<dataset>/]<table>.json and DDL.csv
    DIR/resource/documents/<external_knowledge>

One :class:`Database` per ``<db>`` folder (``db_id`` is the folder name, as the questions' ``db``
field spells it); the folder itself and each dataset sub-folder contribute tables.  A table's name
is its ``table_fullname`` with the whitespace around dots removed (upstream writes
``nhtsa_traffic_fatalities. drimpair_2015``), the spelling the gold file uses.

Columns come from the table's JSON file.  BigQuery's ``nested_column_names`` (dotted paths into
STRUCTs) are kept as columns of their own, each after its parent (``totals``, ``totals.visits``,
...); a parent's ``STRUCT<...>`` type, which the leaves already spell out and which can be
thousands of characters long, is shortened to ``STRUCT`` or ``ARRAY<STRUCT>``.

``DDL.csv`` is parsed with sqlglot in the engine's dialect for what the JSON lacks: declared
primary and foreign keys, the table description (Snowflake's ``description`` field, BigQuery's
``OPTIONS(description=...)``) and tables that have a DDL row but no JSON file.  A DDL that does not
parse is counted, not fatal (the JSON still describes the table).  Tables of one family share a
DDL text apart from their own name (366 ``ga_sessions_*``), so each distinct text is parsed once.

The question's external-knowledge document becomes its evidence, bounded to
``max_evidence_tokens`` approximate tokens (``lrsql_plugin.tokens.approx_token_count``; 0 = no
bound): a longer document is cut at the last paragraph break before the bound (at the last line
break when no paragraph break lies in the second half of the budget, at a word when there is no
line break at all) and ends with a line ``[... document truncated to N tokens]``; the whole
evidence, that line included, stays within the bound.

Gold tables are matched by exact name, else case-insensitively (Snowflake's unquoted names), else
with the whitespace around dots removed.  A question on a db without a schema folder, without a
gold entry or naming a gold table the schema lacks is skipped, naming the db or table.  There is
no gold SQL (``Example.sql`` is empty) and no database file (``executable=False``); each example
carries its engine's dialect.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import sqlglot
from sqlglot import exp

from lrsql_plugin.errors import InputError, Skipped
from lrsql_plugin.files import parse_json, read_utf8
from lrsql_plugin.schema.model import Column, Database, Example, ForeignKey, Table
from lrsql_plugin.sources.base import SourceData, register_source
from lrsql_plugin.sources.examples_json import read_labelled_records
from lrsql_plugin.tokens import APPROX_PIECE, approx_token_count

ENGINE_DIALECTS = {"bigquery": "bigquery", "snowflake": "snowflake", "sqlite": "sqlite"}
_DOTS = re.compile(r"\s*\.\s*")
_TOKEN = APPROX_PIECE  # the pieces approx_token_count counts
_SELF = "lrsql_self_table"  # stands for a DDL's own table name in the parse cache's key


def normalise_name(name: str) -> str:
    """A table's full name without whitespace around its dots (and at its ends)."""
    return _DOTS.sub(".", name.strip())


def _one_line(text: object) -> str:
    """Whitespace runs collapsed to one space (descriptions, types); not a string -> ""."""
    return " ".join(text.split()) if isinstance(text, str) and text else ""


def _short_type(type_: str) -> str:
    """``STRUCT<...>`` -> ``STRUCT``, ``ARRAY<STRUCT<...>>`` -> ``ARRAY<STRUCT>`` (for parents of nested fields)."""
    upper = type_.upper()
    if upper.startswith("STRUCT"):
        return "STRUCT"
    if upper.replace(" ", "").startswith("ARRAY<STRUCT"):
        return "ARRAY<STRUCT>"
    return type_


# ----------------------------------------------------------------------------------------------
# table JSON files


def _list(path: Path, data: dict, key: str, required: bool = True) -> list:
    value = data.get(key)
    if value is None and not required:
        return []
    if not isinstance(value, list):
        raise InputError(str(path), f"{key!r} is missing or not a list")
    return value


def table_from_json(path: Path) -> tuple[Table, str]:
    """The table one JSON file describes and its ``table_fullname`` as written; a malformed file is an
    InputError naming it."""
    data = parse_json(path, read_utf8(path))
    if not isinstance(data, dict):
        raise InputError(str(path), "expected a JSON object describing one table")
    fullname = data.get("table_fullname") or data.get("table_name")
    if not isinstance(fullname, str) or not fullname.strip():
        raise InputError(str(path), "'table_fullname' is missing or not a string")
    names = _list(path, data, "column_names")
    types = _list(path, data, "column_types")
    if len(names) != len(types):
        raise InputError(str(path), f"{len(names)} column_names but {len(types)} column_types")
    nested = _list(path, data, "nested_column_names", required=False)
    nested_types = _list(path, data, "nested_column_types", required=False)
    if len(nested) != len(nested_types):
        raise InputError(str(path), f"{len(nested)} nested_column_names but {len(nested_types)} nested_column_types")
    if not set(map(type, names + types + nested + nested_types)) <= {str}:
        raise InputError(str(path), "a column name or type is not a string")
    descriptions = data.get("description")
    descriptions = descriptions if isinstance(descriptions, list) else []
    # descriptions follow the nested list in some files, the top-level list in others
    keyed = nested if nested and len(descriptions) == len(nested) else names
    desc = {n: _one_line(d) for n, d in zip(keyed, descriptions)}

    children: dict[str, list[tuple[str, str]]] = {}
    top = set(names)
    orphans: list[tuple[str, str]] = []
    for n, t in zip(nested, nested_types):
        if n in top:
            continue
        root = n.split(".", 1)[0]
        (children.setdefault(root, []) if root in top else orphans).append((n, t))
    has_children = {n.rsplit(".", 1)[0] for n in nested if "." in n}
    columns: list[Column] = []

    def add(name: str, type_: str) -> None:
        type_ = _one_line(type_)
        columns.append(Column(name, _short_type(type_) if name in has_children else type_, desc.get(name, "")))

    for n, t in zip(names, types):
        add(n, t)
        for child, ct in children.get(n, ()):
            add(child, ct)
    for n, t in orphans:
        add(n, t)
    return Table(name=normalise_name(fullname), columns=columns), fullname


# ----------------------------------------------------------------------------------------------
# DDL.csv


@dataclass
class DdlFacts:
    """What a parsed DDL adds to a table; ``columns`` only when asked for (tables without JSON)."""

    primary_key: list[str] = field(default_factory=list)
    foreign_keys: list[tuple[str, str, str]] = field(default_factory=list)  # column, ref table as written, ref column
    description: str = ""
    columns: list[Column] | None = None


class DdlParser:
    """sqlglot over DDL texts, each distinct text (its own table name aside) parsed once."""

    def __init__(self) -> None:
        self.cache: dict[tuple[str, str], DdlFacts | None] = {}
        self.parsed = 0
        self.failed: Counter[str] = Counter()  # dialect -> DDLs that did not parse

    def facts(self, ddl: str, short_name: str, dialect: str, need_columns: bool) -> DdlFacts | None:
        head_end = ddl.find("(")
        head = ddl[:head_end] if head_end > 0 else ""
        pattern = r"(?<![\w$])" + re.escape(short_name) + r"(?![\w$])"
        hits = list(re.finditer(pattern, head)) if short_name else []
        key_text, stand_in = ddl, bool(hits)
        if hits:
            key_text = ddl[: hits[-1].start()] + _SELF + ddl[hits[-1].end() :]
        key = (dialect, key_text)
        self.parsed += 1
        if key in self.cache:
            facts = self.cache[key]
            if facts is None or not need_columns or facts.columns is not None:
                if facts is None:
                    self.failed[dialect] += 1
                return facts
        facts = _parse_ddl(key_text, dialect, need_columns)
        if facts is None and stand_in:
            facts = _parse_ddl(ddl, dialect, need_columns)  # in case the stand-in name is what failed
        self.cache[key] = facts
        if facts is None:
            self.failed[dialect] += 1
        return facts


def _parse_ddl(text: str, dialect: str, need_columns: bool) -> DdlFacts | None:
    logger = logging.getLogger("sqlglot")
    level = logger.level
    logger.setLevel(logging.CRITICAL)  # unsupported syntax is logged, then returned as a Command
    try:
        statements = sqlglot.parse(text, read=dialect)
    except (sqlglot.errors.SqlglotError, RecursionError, ValueError):
        return None
    finally:
        logger.setLevel(level)
    create = next((s for s in statements if isinstance(s, exp.Create)), None)
    if create is None or not isinstance(create.this, exp.Schema):
        return None
    facts = DdlFacts(columns=[] if need_columns else None)
    for item in create.this.expressions:
        if isinstance(item, exp.ColumnDef):
            for constraint in item.constraints:
                kind = constraint.kind
                if isinstance(kind, exp.PrimaryKeyColumnConstraint):
                    facts.primary_key.append(item.name)
                elif isinstance(kind, exp.Reference):
                    facts.foreign_keys.extend(_references([item.name], kind))
            if facts.columns is not None:
                facts.columns.extend(_flatten(item, "", dialect))
        elif isinstance(item, exp.PrimaryKey):
            facts.primary_key.extend(_ident(e) for e in item.expressions)
        elif isinstance(item, exp.ForeignKey) and isinstance(item.args.get("reference"), exp.Reference):
            facts.foreign_keys.extend(_references([_ident(e) for e in item.expressions], item.args["reference"]))
    props = create.args.get("properties")
    for prop in props.expressions if props else ():
        if isinstance(prop, exp.SchemaCommentProperty):
            facts.description = _one_line(prop.this.name)
        elif isinstance(prop, exp.Property) and prop.name.lower() == "description":
            value = prop.args.get("value")
            facts.description = _one_line(value.name if isinstance(value, exp.Expression) else "")
    return facts


def _ident(e: exp.Expression) -> str:
    return (e.this if isinstance(e, exp.Ordered) else e).name


def _references(columns: list[str], ref: exp.Reference) -> list[tuple[str, str, str]]:
    target = ref.this
    table = target.this if isinstance(target, exp.Schema) else target
    if not isinstance(table, exp.Table):
        return []
    ref_name = ".".join(p.name for p in table.parts)
    ref_cols = [_ident(e) for e in target.expressions] if isinstance(target, exp.Schema) else []
    if not ref_cols:
        return [(c, ref_name, "") for c in columns]
    return list(zip(columns, [ref_name] * len(columns), ref_cols))


def _column_comment(col: exp.ColumnDef) -> str:
    for constraint in col.constraints:
        kind = constraint.kind
        if isinstance(kind, exp.CommentColumnConstraint):
            return _one_line(kind.this.name if isinstance(kind.this, exp.Expression) else "")
        if isinstance(kind, exp.Properties):
            for prop in kind.expressions:
                if isinstance(prop, exp.Property) and prop.name.lower() == "description":
                    value = prop.args.get("value")
                    return _one_line(value.name if isinstance(value, exp.Expression) else "")
    return ""


# Snowflake's information-schema names, which its table JSON files use (VARCHAR(16777216) -> TEXT)
_SNOWFLAKE_TYPES = {
    **dict.fromkeys(("VARCHAR", "CHAR", "NVARCHAR", "NCHAR", "BPCHAR", "TEXT"), "TEXT"),
    **dict.fromkeys(("DECIMAL", "BIGINT", "INT", "SMALLINT", "TINYINT", "UBIGINT", "UINT"), "NUMBER"),
    **dict.fromkeys(("DOUBLE", "FLOAT"), "FLOAT"),
    "TIMESTAMPNTZ": "TIMESTAMP_NTZ",
    "TIMESTAMPLTZ": "TIMESTAMP_LTZ",
    "TIMESTAMPTZ": "TIMESTAMP_TZ",
}


def _type_name(kind: exp.DataType, dialect: str) -> str:
    """A DDL column type as the engine's JSON files write it (Snowflake: ``TEXT``, ``NUMBER``, no sizes)."""
    if dialect == "snowflake":
        named = _SNOWFLAKE_TYPES.get(kind.this.name)
        if named:
            return named
        return re.sub(r"\(.*\)$", "", _one_line(kind.sql(dialect=dialect)))
    return _one_line(kind.sql(dialect=dialect))


def _flatten(col: exp.ColumnDef, prefix: str, dialect: str) -> list[Column]:
    """The column and, for a STRUCT (or ARRAY of STRUCT), its fields as dotted paths after it."""
    name = prefix + col.name
    kind = col.args.get("kind")
    type_ = _type_name(kind, dialect) if isinstance(kind, exp.DataType) else ""
    struct = kind
    if isinstance(struct, exp.DataType) and struct.this == exp.DataType.Type.ARRAY and struct.expressions:
        struct = struct.expressions[0]
    fields = []
    if isinstance(struct, exp.DataType) and struct.this == exp.DataType.Type.STRUCT:
        fields = [f for f in struct.expressions if isinstance(f, exp.ColumnDef)]
    out = [Column(name, _short_type(type_) if fields else type_, _column_comment(col))]
    for f in fields:
        out.extend(_flatten(f, name + ".", dialect))
    return out


def read_ddl_csv(path: Path) -> list[tuple[int, str, str, str]]:
    """``(line, table_name, description, ddl)`` per row, whatever the engine's header."""
    text = read_utf8(path)
    limit = csv.field_size_limit()
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        header = [h.strip().lower() for h in next(reader, [])]
        if "table_name" not in header or "ddl" not in header:
            raise InputError(str(path), f"expected columns table_name and DDL, found {','.join(header) or 'none'}")
        i_name, i_ddl = header.index("table_name"), header.index("ddl")
        i_desc = header.index("description") if "description" in header else None
        rows = []
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            line = reader.line_num
            if len(row) <= max(i_name, i_ddl):
                raise InputError(str(path), f"expected {len(header)} fields, found {len(row)}", record=f"line {line}")
            desc = row[i_desc] if i_desc is not None and i_desc < len(row) else ""
            rows.append((line, row[i_name].strip(), desc, row[i_ddl]))
        return rows
    except csv.Error as e:
        raise InputError(str(path), f"not valid CSV ({e})") from e
    finally:
        csv.field_size_limit(limit)


# ----------------------------------------------------------------------------------------------
# schemas


@dataclass
class _Stats:
    engines: Counter[str] = field(default_factory=Counter)
    ddl_only: int = 0
    ddl_only_unparsed: int = 0
    empty_ddl_no_json: int = 0
    no_ddl_folders: list[str] = field(default_factory=list)
    csv_descriptions: int = 0
    ddl_descriptions: int = 0
    renamed: int = 0
    duplicates: list[str] = field(default_factory=list)


def _folder_prefix(folder: Path, db_dir: Path, engine: str, tables: list[Table]) -> str:
    """The qualifier a short DDL name gets: that of the folder's JSON tables, else from the folder names."""
    for t in tables:
        if "." in t.name:
            return t.name.rsplit(".", 1)[0]
    if engine == "sqlite":
        return ""
    if engine == "snowflake":
        return db_dir.name if folder == db_dir else f"{db_dir.name}.{folder.name}"
    return "" if folder == db_dir else folder.name


def _read_folder(
    folder: Path, db_dir: Path, engine: str, dialect: str, parser: DdlParser, stats: _Stats
) -> list[Table]:
    tables = []
    for path in sorted(p for p in folder.glob("*.json") if p.is_file()):
        table, written = table_from_json(path)
        tables.append(table)
        stats.renamed += written.strip() != table.name
    ddl_path = folder / "DDL.csv"
    if not ddl_path.is_file():
        stats.no_ddl_folders.append(str(folder.relative_to(db_dir.parent.parent)))
        return tables
    by_full: dict[str, Table] = {}
    for t in tables:
        by_full.setdefault(t.name.lower(), t)  # the first of two that differ only in case is the one kept
    by_short: dict[str, Table | None] = {}
    for t in tables:
        short = t.name.rsplit(".", 1)[-1].lower()
        by_short[short] = None if short in by_short else t  # None: ambiguous
    prefix = _folder_prefix(folder, db_dir, engine, tables)
    for _line, name, desc, ddl in read_ddl_csv(ddl_path):
        norm = normalise_name(name)
        short = norm.rsplit(".", 1)[-1]
        table = by_full.get(norm.lower()) or by_short.get(short.lower())
        if not ddl.strip():
            if table is None:
                stats.empty_ddl_no_json += 1
            elif _one_line(desc) and not table.description:
                table.description = _one_line(desc)
                stats.csv_descriptions += 1
            continue
        facts = parser.facts(ddl, short, dialect, need_columns=table is None)
        if table is None:
            if facts is None or not facts.columns:
                stats.ddl_only_unparsed += 1
                continue
            full = norm if "." in norm or not prefix else f"{prefix}.{norm}"
            table = Table(name=full, columns=facts.columns)
            tables.append(table)
            by_full[full.lower()] = table
            stats.ddl_only += 1
        if _one_line(desc) and not table.description:
            table.description = _one_line(desc)
            stats.csv_descriptions += 1
        if facts is None:
            continue
        if facts.description and not table.description:
            table.description = facts.description
            stats.ddl_descriptions += 1
        if facts.primary_key and not table.primary_key:
            table.primary_key = [(table.column(c) or Column(c)).name for c in facts.primary_key]
        if facts.foreign_keys and not table.foreign_keys:
            table.foreign_keys = [
                ForeignKey((table.column(c) or Column(c)).name, ref, rc) for c, ref, rc in facts.foreign_keys
            ]
    return tables


def _resolve_foreign_keys(db: Database) -> None:
    """Write each foreign key's table in the schema's spelling, and its column where DDL left it out."""
    by_short: dict[str, list[Table]] = {}
    for t in db.tables:
        by_short.setdefault(t.name.rsplit(".", 1)[-1].lower(), []).append(t)
    for t in db.tables:
        if not t.foreign_keys:
            continue
        resolved = []
        for fk in t.foreign_keys:
            ref = db.table(normalise_name(fk.ref_table))
            if ref is None:
                same = by_short.get(normalise_name(fk.ref_table).rsplit(".", 1)[-1].lower(), [])
                ref = same[0] if len(same) == 1 else None
            ref_name = ref.name if ref else fk.ref_table
            ref_col = fk.ref_column
            if not ref_col:
                if ref is None or not ref.primary_key:
                    continue
                ref_col = ref.primary_key[0]
            elif ref is not None and ref.column(ref_col):
                ref_col = ref.column(ref_col).name
            resolved.append(ForeignKey(fk.column, ref_name, ref_col))
        t.foreign_keys = resolved


def load_schemas(databases_dir: Path) -> tuple[dict[str, Database], dict[str, str], list[str]]:
    """``({db_id: Database}, {db_id: dialect}, notes)`` for every ``<engine>/<db>`` folder."""
    if not databases_dir.is_dir():
        raise InputError(str(databases_dir), "schema folder not found")
    parser, stats = DdlParser(), _Stats()
    databases: dict[str, Database] = {}
    dialects: dict[str, str] = {}
    notes: list[str] = []
    for engine_dir in sorted(p for p in databases_dir.iterdir() if p.is_dir()):
        engine = engine_dir.name
        dialect = ENGINE_DIALECTS.get(engine.lower())
        if dialect is None:
            notes.append(f"spider2: engine folder {engine_dir} is not one of {', '.join(ENGINE_DIALECTS)}: left out")
            continue
        for db_dir in sorted(p for p in engine_dir.iterdir() if p.is_dir()):
            if db_dir.name in databases:
                notes.append(f"spider2: db {db_dir.name!r} also under {engine}/: the {dialects[db_dir.name]} one is kept")
                continue
            folders = [db_dir] if any(p.is_file() for p in db_dir.iterdir()) else []
            folders += sorted(p for p in db_dir.iterdir() if p.is_dir())
            tables: list[Table] = []
            seen: dict[str, str] = {}
            for folder in folders:
                for t in _read_folder(folder, db_dir, engine, dialect, parser, stats):
                    first = seen.get(t.name.lower())
                    if first is not None:
                        what = f"{t.name!r} appears twice" if first == t.name else f"{first!r} and {t.name!r} differ only in case"
                        stats.duplicates.append(f"spider2: db {db_dir.name!r}: tables {what}: the first is kept")
                        continue
                    seen[t.name.lower()] = t.name
                    tables.append(t)
            if not tables:
                notes.append(f"spider2: {db_dir} holds no table files: left out")
                continue
            db = Database(db_id=db_dir.name, tables=tables)
            _resolve_foreign_keys(db)
            databases[db.db_id] = db
            dialects[db.db_id] = dialect
            stats.engines[engine] += 1

    n_tables = sum(len(db.tables) for db in databases.values())
    n_columns = sum(len(t.columns) for db in databases.values() for t in db.tables)
    n_nested = sum(1 for db in databases.values() for t in db.tables for c in t.columns if "." in c.name)
    engines = ", ".join(f"{n} {e}" for e, n in stats.engines.items())
    from_ddl = f" ({stats.ddl_only:,} from DDL.csv alone)" if stats.ddl_only else ""
    nested = f" ({n_nested:,} of them nested fields, {n_columns - n_nested:,} top-level)" if n_nested else ""
    notes.insert(0, f"spider2: {len(databases)} databases ({engines}), {n_tables:,} tables{from_ddl}, {n_columns:,} columns{nested}")
    failed = sum(parser.failed.values())
    if parser.parsed:
        by = ", ".join(f"{n} {d}" for d, n in sorted(parser.failed.items()))
        notes.append(
            f"spider2: {parser.parsed:,} DDL statements, {len(parser.cache):,} distinct; "
            + (f"{failed} did not parse ({by}; their JSON describes the table)" if failed else "all parsed")
        )
    if stats.ddl_only_unparsed:
        notes.append(f"spider2: {stats.ddl_only_unparsed} DDL rows without a JSON file did not parse: tables left out")
    if stats.empty_ddl_no_json:
        notes.append(f"spider2: {stats.empty_ddl_no_json} DDL rows are empty and have no JSON file: tables left out")
    if stats.no_ddl_folders:
        notes.append(f"spider2: {len(stats.no_ddl_folders)} folders have no DDL.csv, read from their JSON files alone: "
                     + ", ".join(stats.no_ddl_folders))
    if stats.csv_descriptions or stats.ddl_descriptions:
        notes.append(f"spider2: table descriptions: {stats.csv_descriptions} from DDL.csv's description field, "
                     f"{stats.ddl_descriptions} from the DDL itself")
    if stats.renamed:
        notes.append(f"spider2: whitespace around a dot removed from {stats.renamed} table_fullname value(s)")
    notes.extend(stats.duplicates)
    return databases, dialects, notes


# ----------------------------------------------------------------------------------------------
# questions


def bound_document(text: str, max_tokens: int) -> tuple[str, bool]:
    """``(text, truncated)``: the text within ``max_tokens`` approximate tokens (0 = no bound); see the module docstring."""
    text = text.strip()
    if max_tokens <= 0 or approx_token_count(text) <= max_tokens:
        return text, False
    marker = f"[... document truncated to {max_tokens} tokens]"
    budget = max(max_tokens - approx_token_count("\n\n" + marker), 0)
    end = 0
    for i, m in enumerate(_TOKEN.finditer(text)):
        if i == budget:
            break
        end = m.end()
    para, line = text.rfind("\n\n", 0, end + 1), text.rfind("\n", 0, end + 1)
    cut = para if para >= end // 2 and para > 0 else line if line > 0 else end
    body = text[:cut].rstrip()
    return (f"{body}\n\n{marker}" if body else marker), True


def _read_gold(path: Path) -> dict[str, list[str]]:
    records, labels = read_labelled_records(path)
    gold: dict[str, list[str]] = {}
    for rec, label in zip(records, labels):
        if not isinstance(rec, dict) or not isinstance(rec.get("instance_id"), str):
            raise InputError(str(path), "expected an object with a string instance_id", record=label)
        tables = rec.get("gold_tables")
        if not isinstance(tables, list) or not all(isinstance(t, str) for t in tables):
            raise InputError(str(path), "gold_tables is missing or not a list of names", record=label)
        iid = rec["instance_id"]
        if iid in gold and gold[iid] != tables:
            raise InputError(str(path), f"instance_id {iid!r} appears twice with different gold tables", record=label)
        gold[iid] = tables
    return gold


@register_source("spider2")
def load_spider2(
    spider2_dir: str | Path,
    questions: str | Path | None = None,
    gold: str | Path | None = None,
    max_evidence_tokens: int = 512,
    *,
    gold_optional: bool = False,
) -> SourceData:
    """Spider 2.0-lite's schemas, questions and gold tables (see the module docstring).

    ``gold_optional`` (inference): a question without a gold entry (or without a gold file at all) is
    kept with ``gold_tables`` None instead of being skipped."""
    root = Path(spider2_dir)
    if not root.is_dir():
        raise InputError(str(root), "Spider 2.0 folder not found")
    qfile = Path(questions) if questions else root / "spider2-lite.jsonl"
    gfile = Path(gold) if gold else root / "spider2-lite-gold-tables.jsonl"
    databases, dialects, notes = load_schemas(root / "resource" / "databases")
    records, labels = read_labelled_records(qfile)
    gold_tables = {} if gold_optional and not gfile.exists() else _read_gold(gfile)
    docs_dir = root / "resource" / "documents"
    docs: dict[str, tuple[str, bool]] = {}

    examples: list[Example] = []
    skipped: list[Skipped] = []
    reasons: Counter[str] = Counter()
    unknown_dbs: Counter[str] = Counter()
    missing_tables: list[str] = []
    matched: Counter[str] = Counter()
    exact_names: dict[str, set[str]] = {}
    truncated = 0

    def skip(label: str | int, kind: str, reason: str) -> None:
        skipped.append(Skipped(str(qfile), label, reason))
        reasons[kind] += 1

    for index, (rec, label) in enumerate(zip(records, labels)):
        if not isinstance(rec, dict):
            skip(label, "not an object", "record is not an object")
            continue
        bad = [k for k in ("instance_id", "db", "question") if not isinstance(rec.get(k), str)]
        if bad:
            skip(label, "missing fields", f"missing or non-string field(s): {', '.join(bad)}")
            continue
        iid, db_id = rec["instance_id"], rec["db"]
        db = databases.get(db_id)
        if db is None:
            skip(label, "db without a schema folder",
                 f"{iid}: db {db_id!r} has no schema folder in {root / 'resource' / 'databases'}")
            unknown_dbs[db_id] += 1
            continue
        if iid not in gold_tables and not gold_optional:
            skip(label, "no gold tables", f"{iid}: no gold tables in {gfile}")
            continue
        exact = exact_names.setdefault(db_id, set(db.table_names))
        names: list[str] = []
        lacking: list[str] = []
        for name in gold_tables.get(iid, []):
            if name in exact:
                found, how = name, "exact"
            elif found := db.canonical(name):
                how = "case"
            elif found := db.canonical(normalise_name(name)):
                how = "whitespace"
            else:
                lacking.append(name)
                continue
            matched[how] += 1
            if found not in names:
                names.append(found)
        if lacking:
            skip(label, "gold table not in the schema",
                 f"{iid}: gold table(s) {', '.join(map(repr, lacking))} not in the schema of db {db_id!r}")
            missing_tables.extend(lacking)
            continue
        if not names and iid in gold_tables:
            skip(label, "no gold tables", f"{iid}: the gold entry lists no table")
            continue
        evidence = ""
        doc = rec.get("external_knowledge")
        if isinstance(doc, str) and doc.strip():
            if doc not in docs:
                path = docs_dir / doc
                if not path.is_file():
                    raise InputError(str(qfile), f"{iid}: external_knowledge document {path} not found", record=label)
                docs[doc] = bound_document(read_utf8(path), max_evidence_tokens)
            evidence, cut = docs[doc]
            truncated += cut
        examples.append(
            Example(
                db_id=db_id,
                question=rec["question"].strip(),
                sql="",
                source_file=str(qfile),
                index=index,
                evidence=evidence,
                question_id=iid,
                gold_tables=tuple(names) if iid in gold_tables else None,
                dialect=dialects[db_id],
            )
        )

    if mentions := sum(matched.values()):
        notes.append(f"spider2: {mentions:,} gold-table mentions matched: {matched['exact']:,} exactly, "
                     f"{matched['case']:,} ignoring case, {matched['whitespace']:,} ignoring whitespace around dots")
    if with_doc := sum(1 for e in examples if e.evidence):
        notes.append(f"spider2: {with_doc} question(s) carry an external-knowledge document"
                     + (f", {truncated} of them cut to {max_evidence_tokens} tokens" if truncated else ""))
    if skipped:
        parts = []
        for kind, n in reasons.most_common():
            if kind == "db without a schema folder":
                kind += " (" + ", ".join(f"{d} {c}" for d, c in unknown_dbs.most_common()) + ")"
            elif kind == "gold table not in the schema":
                kind += " (" + ", ".join(missing_tables) + ")"
            parts.append(f"{n} {kind}")
        notes.append(f"spider2: {len(skipped)} of {len(records)} questions skipped: " + "; ".join(parts))
    return SourceData("spider2", databases, examples, skipped, db_root=None, notes=notes, executable=False)
