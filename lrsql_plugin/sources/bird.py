"""BIRD layout: {split}.json (question_id, evidence, SQL, difficulty), {split}_tables.json,
{split}_databases/<db_id>/<db_id>.sqlite with optional database_description/<table>.csv.

Column descriptions are read from the description CSVs onto the schema (``Column.description``);
see ``apply_descriptions`` for how they are matched and worded.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from lrsql_plugin.errors import InputError, Skipped
from lrsql_plugin.schema.model import Database
from lrsql_plugin.sources.base import SourceData, register_source
from lrsql_plugin.sources.examples_json import examples_from_records, read_labelled_records
from lrsql_plugin.sources.spider_tables import find_sqlite_files, load_tables_json

# BIRD ships some description CSVs in Windows-1252 (en dashes, curly quotes) and a few that are
# neither UTF-8 nor valid cp1252; latin-1 decodes any byte.
ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")
UNMATCHED_SHOWN = 10  # unmatched files/rows listed in the note, the rest counted


@register_source("bird")
def load_bird(
    bird_dir: str | Path, split: str = "train", questions: str | Path | None = None, *, sql_optional: bool = False
) -> SourceData:
    """``sql_optional`` keeps questions without ``SQL`` (inference; see ``examples_from_records``)."""
    root = Path(bird_dir)
    if not root.is_dir():
        raise InputError(str(root), "BIRD folder not found")
    databases = load_tables_json(root / f"{split}_tables.json")
    qfile = Path(questions) if questions else root / f"{split}.json"
    skipped: list[Skipped] = []
    records, labels = read_labelled_records(qfile)
    examples = examples_from_records(qfile, records, databases, "SQL", skipped, labels=labels, sql_optional=sql_optional)
    db_root = root / f"{split}_databases"
    notes: list[str] = []
    if db_root.is_dir():
        tally = DescriptionTally()
        for db_id, db in databases.items():
            db.sqlite_paths = [str(p) for p in find_sqlite_files(db_root, db_id)]
            desc_dir = db_root / db_id / "database_description"
            if desc_dir.is_dir():
                apply_descriptions(db, desc_dir, tally)
        notes = tally.notes()
    return SourceData(
        "bird", databases, examples, skipped, db_root if db_root.is_dir() else None, notes=notes
    )


def loose_name(name: str) -> str:
    """The key names are joined on: stripped, inner whitespace collapsed to one space, casefolded."""
    return " ".join(name.split()).casefold()


def _bare(name: str) -> str:
    """A name without case, underscores and spaces: ``Enrollment (K-12)`` ~ ``enrollment_(k-12)``."""
    return re.sub(r"[\s_]+", "", name).casefold()


@dataclass
class DescriptionTally:
    """Description rows seen (with a column name) and matched, and where the unmatched ones were."""

    rows: int = 0
    matched: int = 0
    unmatched: list[str] = field(default_factory=list)  # "db/file.csv: col_a, col_b" or "db/file.csv (no table)"

    def notes(self) -> list[str]:
        if not self.rows:
            return []
        out = [f"descriptions: {self.matched} of {self.rows} columns matched"]
        if self.unmatched:
            shown = "; ".join(self.unmatched[:UNMATCHED_SHOWN])
            more = len(self.unmatched) - UNMATCHED_SHOWN
            out.append(f"descriptions not matched: {shown}" + (f"; ... and {more} more file(s)" if more > 0 else ""))
        return out


def describe(original: str, expanded: str, description: str, values: str) -> str:
    """One line of text for a column from its CSV row.

    Form: ``<column_name>: <column_description>; <value_description>``, where

    - ``<column_name>`` (BIRD's expanded name) is given only when it adds information: it differs
      from ``original_column_name`` beyond case, underscores and spaces (``Free Meal Count (K-12)``
      for ``FRPM Count (K-12)`` yes, ``school name`` for ``School_Name`` no);
    - ``<column_description>`` is left out when it only repeats either name, ``<value_description>``
      when it repeats the description;
    - parts that are empty or left out drop with their separator (``<column_name>`` alone, or
      ``<column_description>; <value_description>``); all whitespace, line breaks included, becomes
      one space.  An empty result means the row describes nothing.
    """
    original, expanded, description, values = (" ".join(s.split()) for s in (original, expanded, description, values))
    names = {_bare(original), _bare(expanded)}
    name = expanded if expanded and _bare(expanded) != _bare(original) else ""
    if _bare(description) in names:
        description = ""
    if values and _bare(values) == _bare(description):
        values = ""
    body = "; ".join(p for p in (description, values) if p)
    if name and body:
        return f"{name}: {body}"
    return name or body


def decode_description(raw: bytes) -> str:
    """Text of a description CSV: UTF-8 (with or without BOM), else Windows-1252, else latin-1."""
    for enc in ENCODINGS:
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes any byte")  # pragma: no cover


def read_description_rows(path: Path) -> list[dict[str, str]]:
    """Rows of one description CSV as ``{header: value}`` with headers stripped and casefolded.

    Raises InputError naming the file (and line) when it cannot be parsed as CSV or has no
    ``original_column_name`` column.
    """
    text = decode_description(path.read_bytes())
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise InputError(str(path), f"not a readable CSV file ({exc})", record=f"line {reader.line_num}") from None
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        return []
    header = [loose_name(h).replace(" ", "_") for h in rows[0]]
    if "original_column_name" not in header:
        raise InputError(str(path), "not a BIRD description CSV: no original_column_name column", record="line 1")
    return [{h: (v or "").strip() for h, v in zip(header, r) if h} for r in rows[1:]]


def apply_descriptions(db: Database, desc_dir: Path, tally: DescriptionTally | None = None) -> DescriptionTally:
    """Put the descriptions of ``desc_dir``'s CSVs onto ``db``'s columns (``Column.description``).

    A CSV belongs to the table named by its file stem and a row to the column named by its
    ``original_column_name``, both compared with ``loose_name`` (case and whitespace do not count:
    ``FRPM.csv`` describes table ``frpm``, ``enrollment  (k-12)`` column ``Enrollment (K-12)``).
    Text is worded by ``describe``; a column described twice keeps the first text.  ``tally``
    counts rows with a column name and those matched, and lists the rest.
    """
    tally = tally if tally is not None else DescriptionTally()
    tables = {loose_name(t.name): t for t in db.tables}
    for path in sorted(desc_dir.glob("*.csv"), key=lambda p: p.name.casefold()):
        rows = [r for r in read_description_rows(path) if r.get("original_column_name")]
        tally.rows += len(rows)
        label = f"{db.db_id}/{path.name}"
        table = tables.get(loose_name(path.stem))
        if table is None:
            if rows:
                tally.unmatched.append(f"{label} (no table {path.stem!r})")
            continue
        index = {loose_name(c.name): i for i, c in enumerate(table.columns)}
        texts: dict[int, str] = {}
        missed: list[str] = []
        for row in rows:
            original = row["original_column_name"]
            i = index.get(loose_name(original))
            if i is None:
                missed.append(" ".join(original.split()))
                continue
            tally.matched += 1
            text = describe(original, row.get("column_name", ""), row.get("column_description", ""),
                            row.get("value_description", ""))
            if text and i not in texts:
                texts[i] = text
        if missed:
            tally.unmatched.append(f"{label}: {', '.join(missed)}")
        if texts:
            table.columns = [replace(c, description=texts[i]) if i in texts else c for i, c in enumerate(table.columns)]
    return tally
