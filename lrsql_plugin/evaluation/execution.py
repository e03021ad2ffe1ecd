"""Run model-written SQL on SQLite without letting it change anything, run away or flood memory.

Defences, each sufficient on its own for writes:

- the file is opened through a ``file:...?mode=ro`` URI, so SQLite itself refuses to write;
- ``PRAGMA query_only`` is switched on;
- an authorizer allows only reading (``SELECT``, column reads, function calls other than
  ``load_extension``, recursive CTEs) and denies everything else, so writes, DDL, ``ATTACH`` /
  ``DETACH`` (which also stops ``VACUUM INTO``), ``PRAGMA``, ``VACUUM``, ``ANALYZE`` and
  transaction control fail when the statement is prepared, before it runs;
- extension loading is disabled.

Only the first statement of the text runs; the rest is never prepared.  A progress handler
interrupts a query once its deadline passes, which (unlike a wall-clock wrapper around a
blocking call) really stops SQLite.  At most ``max_rows`` rows are fetched, and no string or blob
a query builds may exceed ``MAX_VALUE_BYTES`` (SQLite's length limit), so one call such as
``zeroblob(1e9)`` or ``printf('%.*c', 1e9, 'x')`` can neither take gigabytes nor outrun the deadline.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import quote

# SQLite authorizer action codes a read-only query needs.
_READ_ACTIONS = frozenset(
    {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION, getattr(sqlite3, "SQLITE_RECURSIVE", 33)}
)
_PROGRESS_EVERY = 1000  # SQLite VM instructions between deadline checks
MAX_VALUE_BYTES = 32 * 1024 * 1024  # longest string or blob a query may produce ("string or blob too big")


@dataclass(frozen=True)
class QueryOutcome:
    """What one query produced: rows, an error message, or a timeout."""

    status: Literal["ok", "error", "timeout"]
    rows: list[tuple] = field(default_factory=list)
    message: str = ""


def first_statement(sql: str) -> str:
    """The text up to and including the first complete statement's ``;`` (SQLite's own tokenizer decides)."""
    for i, ch in enumerate(sql):
        # complete_statement refuses a NUL character; SQLite's tokenizer would end the text there anyway
        if ch == ";" and sqlite3.complete_statement(sql[: i + 1].replace("\x00", " ")):
            return sql[: i + 1]
    return sql


def _authorize(action: int, arg1: str | None, arg2: str | None, db_name: str | None, source: str | None) -> int:
    if action not in _READ_ACTIONS:
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() == "load_extension":
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def _lenient_text(raw: bytes) -> str:
    # As the official test-suite evaluator: undecodable bytes are dropped, not an error.
    return raw.decode(errors="ignore")


_UNDECODABLE = "Could not decode to UTF-8"  # sqlite3's error for text that is not UTF-8 under text_factory=str


def open_read_only(db_path: str | Path) -> sqlite3.Connection:
    """A guarded read-only connection (usable from any thread; use it from one at a time)."""
    path = Path(db_path).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"no database file {path}")
    conn = sqlite3.connect(
        f"file:{quote(str(path))}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
    )
    if hasattr(conn, "enable_load_extension"):  # absent when Python's sqlite3 was built without extension support
        conn.enable_load_extension(False)
    conn.execute("PRAGMA query_only = ON")
    if hasattr(conn, "setlimit"):  # Python >= 3.11
        conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
    conn.set_authorizer(_authorize)
    return conn


def run_query(conn: sqlite3.Connection, sql: str, timeout: float, max_rows: int) -> QueryOutcome:
    """Execute the first statement of ``sql`` under a deadline and a row cap.

    Text is decoded as UTF-8 by sqlite3 itself (fast); a result holding bytes that are not UTF-8 is
    fetched again with those bytes dropped, as the official test-suite evaluator decodes.  Valid
    UTF-8 decodes the same either way, so only the rare query that meets bad bytes runs twice.
    """
    deadline = time.monotonic() + timeout  # one deadline for both tries
    outcome = _run_query(conn, sql, deadline, timeout, max_rows, str)
    if outcome.status == "error" and outcome.message.startswith(_UNDECODABLE):
        outcome = _run_query(conn, sql, deadline, timeout, max_rows, _lenient_text)
    return outcome


def _run_query(
    conn: sqlite3.Connection, sql: str, deadline: float, timeout: float, max_rows: int,
    text_factory: Callable[[bytes], str],
) -> QueryOutcome:
    conn.text_factory = text_factory
    conn.set_progress_handler(lambda: time.monotonic() > deadline, _PROGRESS_EVERY)
    cursor = conn.cursor()
    try:
        cursor.execute(first_statement(sql))
        if cursor.description is None:
            return QueryOutcome("error", message="the statement returns no result set")
        rows = cursor.fetchmany(max_rows + 1)
    except sqlite3.Error as e:
        if time.monotonic() > deadline:
            return QueryOutcome("timeout", message=f"timeout after {timeout:g} s")
        return QueryOutcome("error", message=str(e) or type(e).__name__)
    except ValueError as e:  # Python 3.10 raises it for "the query contains a null character"
        return QueryOutcome("error", message=str(e))
    finally:
        cursor.close()
        conn.set_progress_handler(None, 0)
    if len(rows) > max_rows:
        return QueryOutcome("error", message=f"result has more than {max_rows} rows (max_rows)")
    return QueryOutcome("ok", rows=rows)


class QueryRunner:
    """Runs queries on database files with one guarded connection per (thread, file)."""

    def __init__(self, timeout: float, max_rows: int) -> None:
        self.timeout, self.max_rows = timeout, max_rows
        self._local = threading.local()
        self._lock = threading.Lock()
        self._opened: list[sqlite3.Connection] = []

    def run(self, db_path: Path, sql: str) -> QueryOutcome:
        if not hasattr(self._local, "conns"):
            self._local.conns = {}
        conn = self._local.conns.get(db_path)
        if conn is None:
            conn = self._local.conns[db_path] = open_read_only(db_path)
            with self._lock:
                self._opened.append(conn)
        return run_query(conn, sql, self.timeout, self.max_rows)

    def close(self) -> None:
        with self._lock:
            for conn in self._opened:
                conn.close()
            self._opened.clear()

    def __enter__(self) -> QueryRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
