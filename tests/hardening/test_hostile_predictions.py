"""Issue 11 (5): more than 1,000 hostile predictions through ``lrsql-eval`` on copies of real databases.

Every database file must be byte-identical afterwards (and no journal / WAL file may appear), every
verdict must be 0 with a reason, the evaluator's peak memory must stay bounded and its time must be
bounded by the per-query timeout.  The gold of each item is ``SELECT count(*) + 424242 FROM t``, a
result no hostile prediction produces, so a match could only come from a wrong verdict.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

DATABASES = {"spider": ("department_store",), "spider-dk": ("new_concert_singer", "new_orchestra", "new_pets_1")}
TIMEOUT = 0.5
WORKERS = 2
MAX_RSS_MB = 800
# lrsql-eval's main, reporting the process's own peak resident memory on stderr when it exits. VmHWM
# belongs to the process's own address space (reset by exec); getrusage's ru_maxrss is not: Linux
# carries it over from the forking parent, here a pytest process that may hold models of earlier tests.
PEAK_RSS_WRAPPER = (
    "import atexit, re, sys; "
    "atexit.register(lambda: sys.stderr.write('\\nPEAK_RSS_KB ' + "
    "re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1) + '\\n')); "
    "from lrsql_plugin.cli.evaluate import main; main()"
)


def tree_hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def tables_of(db: Path) -> list[str]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")]
    finally:
        conn.close()


def hostile(t: str, other: str) -> list[str]:
    """Hostile predictions against table ``t`` (``other`` is a second table)."""
    q = f'"{t}"'
    writes = [f"INSERT INTO {q} DEFAULT VALUES", f"UPDATE {q} SET rowid = rowid + 1", f"DELETE FROM {q}",
              f"REPLACE INTO {q} SELECT * FROM {q}", f"INSERT INTO {q} SELECT * FROM {q}", f"UPDATE {q} SET rowid = NULL WHERE 1"]
    ddl = [f"DROP TABLE {q}", "CREATE TABLE pwned(a)", f"ALTER TABLE {q} RENAME TO pwned", f"CREATE INDEX ix ON {q}(rowid)",
           f"CREATE TRIGGER tr AFTER INSERT ON {q} BEGIN DELETE FROM {q}; END", f"CREATE VIEW v AS SELECT * FROM {q}",
           f"DROP VIEW IF EXISTS {q}", f'ALTER TABLE {q} ADD COLUMN "x" INT', "CREATE TEMP TABLE tmp(a)"]
    attach = ["ATTACH DATABASE '/tmp/lrsql-pwned.sqlite' AS p", "ATTACH ':memory:' AS m", "DETACH DATABASE main",
              "VACUUM", "VACUUM INTO '/tmp/lrsql-pwned-copy.sqlite'", "ANALYZE", "REINDEX", "BEGIN IMMEDIATE", "COMMIT",
              "SAVEPOINT s", "ROLLBACK"]
    pragma = ["PRAGMA writable_schema = 1", "PRAGMA journal_mode = WAL", "PRAGMA user_version = 7", "PRAGMA query_only = 0",
              f"PRAGMA table_info({q})", "PRAGMA integrity_check", "SELECT * FROM pragma_table_info('x')"]
    extension = ["SELECT load_extension('/tmp/evil.so')", "SELECT load_extension('libc.so.6', 'system')"]
    several = [f"SELECT 1; DROP TABLE {q}", f"SELECT * FROM {q}; DELETE FROM {q};", f"SELECT 2;\nUPDATE {q} SET rowid = 0",
               f";DELETE FROM {q}", f"SELECT 'a;b'; DROP TABLE {q}"]
    comments = [f"SELECT 1 /* ; */; DELETE FROM {q}", f"SELECT 1 -- comment\n; DROP TABLE {q}", f"/* SELECT 1; */ DELETE FROM {q}",
                f"-- SELECT 1\nDROP TABLE {q}", f"SELECT 1 /* DELETE FROM {q} */", f"SELECT /*+ hint */ 1; /**/DELETE/**/FROM/**/{q}"]
    huge = [f'SELECT * FROM {q} a, {q} b, {q} c, "{other}" d', f'SELECT * FROM {q} a, {q} b, {q} c, {q} d, {q} e',
            "SELECT zeroblob(900000000)", "SELECT randomblob(1000000000)", "SELECT replace(hex(zeroblob(30000000)), '0', 'ab')",
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c"]
    runaway = ["WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT max(x) FROM c",
               f"SELECT count(*) FROM {q} a, {q} b, {q} c, {q} d, {q} e, {q} f, {q} g"]
    broken = ["", "   ", "SELEC 1", f"SELECT * FROM {q} WHERE", "SELECT 1\x00; DROP TABLE x", "'; DROP TABLE students; --",
              "SELECT ' ||", "\u202eSELECT 1", "SELECT " + "(" * 5000 + "1" + ")" * 5000]
    return writes + ddl + attach + pragma + extension + several + comments + huge + runaway + broken


@pytest.fixture
def db_root(shared_data: Path, tmp_path: Path) -> Path:
    root = tmp_path / "database"
    for folder, ids in DATABASES.items():
        for db_id in ids:
            shutil.copytree(shared_data / folder / "database" / db_id, root / db_id)
    for f in root.rglob("*"):
        f.chmod(0o755 if f.is_dir() else 0o644)  # writable copies: the evaluator, not permissions, must protect them
    return root


def test_a_thousand_hostile_predictions_change_nothing(db_root: Path, tmp_path: Path):
    items, slow = [], 0
    for db_id in sorted(p.name for p in db_root.iterdir()):
        tables = tables_of(db_root / db_id / f"{db_id}.sqlite")
        for i, t in enumerate(tables):
            gold = f'SELECT count(*) + 424242 FROM "{t}"'
            for pred in hostile(t, tables[(i + 1) % len(tables)]):
                items.append({"db_id": db_id, "gold": gold, "prediction": pred})
                slow += pred.startswith(("WITH RECURSIVE", "SELECT count(*)", "SELECT *", "SELECT replace"))
    lines = [json.dumps(it).encode() for it in items]
    # invalid UTF-8 in the prediction field (the rest of the line is valid): one per table and flavour
    for it in list(items[:: len(items) // 120]):
        for bad in (b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"SELECT 1 \xfe; DROP TABLE x"):
            rec = json.dumps({"db_id": it["db_id"], "gold": it["gold"], "prediction": "@@"}).encode()
            lines.append(rec.replace(b"@@", bad))
    assert len(lines) >= 1000, len(lines)
    jsonl = tmp_path / "hostile.jsonl"
    jsonl.write_bytes(b"\n".join(lines) + b"\n")
    before = tree_hashes(db_root)
    out = tmp_path / "out"
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", PEAK_RSS_WRAPPER, "--jsonl", str(jsonl), "--db", str(db_root), "--out", str(out),
         "--timeout", str(TIMEOUT), "--workers", str(WORKERS), "--max-rows", "100000", "--no-progress"],
        capture_output=True, text=True, timeout=600,
    )
    seconds = time.monotonic() - started
    # the evaluator's own peak (RUSAGE_CHILDREN would also hold earlier tests' children, e.g. training runs)
    peak_mb = int(re.search(r"PEAK_RSS_KB (\d+)", proc.stderr).group(1)) / 1024
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    assert tree_hashes(db_root) == before, "a database file changed, or a journal/WAL file appeared"
    assert not Path("/tmp/lrsql-pwned.sqlite").exists() and not Path("/tmp/lrsql-pwned-copy.sqlite").exists()
    rows = [json.loads(x) for x in (out / "per_example.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) == len(lines)
    assert not [r for r in rows if r["match"]], "a hostile prediction was scored as a match"
    assert all(r["reason"] and r["reason"] != "match" for r in rows)
    reasons = {r["reason"].split(":")[0] for r in rows}
    assert {"prediction error", "timeout", "mismatch"} <= reasons, reasons
    utf8 = [r for r in rows if "not valid UTF-8" in r["reason"]]
    assert len(utf8) == len(lines) - len(items)
    assert peak_mb < MAX_RSS_MB, f"peak memory {peak_mb:.0f} MB"
    # every slow query stops at the timeout (plus SQLite's one-call work, bounded by the length limit)
    bound = slow * (TIMEOUT + 0.5) / WORKERS + 60
    assert seconds < bound, f"{seconds:.0f} s > {bound:.0f} s"
    print(f"\nhostile predictions: {len(rows)} ({len(utf8)} not UTF-8), databases changed: 0, "
          f"peak RSS {peak_mb:.0f} MB, {seconds:.1f} s (bound {bound:.0f} s), reasons: {sorted(reasons)}")
