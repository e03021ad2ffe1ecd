"""Sample values per column, read from a database through a read-only connection."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from lrsql_plugin.errors import InputError
from lrsql_plugin.prompts.identifiers import quote_identifier
from lrsql_plugin.schema.model import Database


def read_sample_values(db: Database, k: int) -> dict[str, dict[str, list]]:
    """Up to ``k`` distinct non-null values of each column (short texts and numbers only)."""
    if not db.sqlite_paths:
        raise InputError(db.db_id, "sample values need the database's .sqlite file, and none was found")
    path = Path(db.sqlite_paths[0])
    conn = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True)
    out: dict[str, dict[str, list]] = {}
    try:
        for t in db.tables:
            cols = out.setdefault(t.name, {})
            for c in t.columns:
                q = (
                    f"SELECT DISTINCT {quote_identifier(c.name)} FROM {quote_identifier(t.name)} "
                    f"WHERE {quote_identifier(c.name)} IS NOT NULL LIMIT {int(k)}"
                )
                vals = [v for (v,) in conn.execute(q) if isinstance(v, (int, float, str))]
                if vals:
                    cols[c.name] = vals
    except sqlite3.Error as e:
        raise InputError(str(path), f"cannot read sample values ({e})") from e
    finally:
        conn.close()
    return out
