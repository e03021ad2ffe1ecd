"""Scale benchmark: 22,000 predictions, against plain sqlite3 running each distinct query once.

Inputs: the 254 Spider-DK items of ``bench_eval.py`` (127 questions on the three databases shipped
with contents, each with the gold as prediction and with a perturbed prediction), replicated to
22,000 items, as a Spider-dev-sized run repeated many times (or many runs pooled) would be.  The
baseline opens each database with plain ``sqlite3.connect`` and executes every *distinct* (database,
query) once - golds and predictions - with ``fetchall``, nothing else.  The *floor* is the least any
evaluator does besides SQL: find the distinct pairs among the items and hand each item its verdict.  lrsql-eval is timed through its
Python API (``evaluate``, EX and hardness) and, with ``--etype all``, EX and EM.  Medians of the repeats.

The three databases are tiny (a query takes tens of microseconds), so the fixed costs of an evaluator
(reading each distinct gold query for its hardness and comparison rules) dwarf the baseline.  With
``--scale K`` both sides run on *synthetic* copies of the same databases in which every table holds
its rows K times (constraints dropped, so duplicates are allowed): the same queries then cost what
they cost on databases of realistic size.  ``max_rows`` is raised so that no result is cut short.

    .venv/bin/python bench/bench_eval_scale.py [--items 22000] [--repeats 5] [--data ../shared/data] [--scale K]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from bench_eval import DK_DB_IDS, load_items  # bench/ is on sys.path when run as a script
from machine import cpu_model

from lrsql_plugin.evaluation import evaluate
from lrsql_plugin.hparams.eval_args import EvalArguments
from lrsql_plugin.sources.spider_tables import load_tables_json

REPO = Path(__file__).resolve().parents[1]


def distinct_queries(items) -> list[tuple[str, str]]:
    seen: dict[tuple[str, str], None] = {}
    for item in items:
        seen.setdefault((item.db_id, item.gold), None)
        seen.setdefault((item.db_id, item.prediction), None)
    return list(seen)


def raw_sqlite(queries: list[tuple[str, str]], db_root: Path) -> float:
    started = time.perf_counter()
    conns = {db_id: sqlite3.connect(db_root / db_id / f"{db_id}.sqlite") for db_id in DK_DB_IDS}
    for db_id, sql in queries:
        with contextlib.suppress(sqlite3.Error):
            conns[db_id].execute(sql).fetchall()
    for conn in conns.values():
        conn.close()
    return time.perf_counter() - started


def bookkeeping_floor(items) -> float:
    """The least any evaluator does besides SQL: find the distinct pairs and hand each item its verdict."""
    started = time.perf_counter()
    keys = [(item.db_id, item.gold, item.prediction) for item in items]
    first: dict[tuple[str, str, str], int] = {}
    for key in keys:
        first.setdefault(key, len(first))
    verdicts = dict.fromkeys(first, True)
    [(i, verdicts[key]) for i, key in enumerate(keys)]
    return time.perf_counter() - started


def scaled_copies(db_root: Path, k: int, dest: Path) -> Path:
    """Copies of the DK databases under ``dest`` in which every table holds its rows ``k`` times."""
    for db_id in DK_DB_IDS:
        (dest / db_id).mkdir(parents=True)
        conn = sqlite3.connect(dest / db_id / f"{db_id}.sqlite")
        conn.execute("ATTACH DATABASE ? AS src", (str(db_root / db_id / f"{db_id}.sqlite"),))
        tables = [r[0] for r in conn.execute("SELECT name FROM src.sqlite_master WHERE type = 'table'")]
        for t in tables:
            conn.execute(f'CREATE TABLE main."{t}" AS SELECT * FROM src."{t}" WHERE 0')
            for _ in range(k):
                conn.execute(f'INSERT INTO main."{t}" SELECT * FROM src."{t}"')
        conn.commit()
        conn.execute("DETACH DATABASE src")
        conn.close()
    return dest


def api(items, db_root: Path, schemas, **settings) -> float:
    started = time.perf_counter()
    evaluate(items, db_root, EvalArguments(**settings), schemas=schemas, progress=False)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=22_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--scale", type=int, default=1,
                        help="run on synthetic copies of the databases with every table's rows repeated K times")
    args = parser.parse_args()
    db_root = args.data / "spider-dk" / "database"
    if args.scale > 1:
        scratch = tempfile.TemporaryDirectory(prefix="lrsql-scale-")  # removed when the run ends
        db_root = scaled_copies(db_root, args.scale, Path(scratch.name))
    limits = {"max_rows": 10**8, "timeout": 600.0}
    schemas = load_tables_json(args.data / "spider-dk" / "tables.json")
    base = load_items(args.data)
    items = [base[i % len(base)] for i in range(args.items)]
    queries = distinct_queries(items)
    api(base[:3], db_root, schemas, workers=1, **limits)  # warm imports and the page cache
    load = os.getloadavg()
    raw = [raw_sqlite(queries, db_root) for _ in range(args.repeats)]
    floor = [bookkeeping_floor(items) for _ in range(args.repeats)]
    runs = {
        "EX, 1 worker": [api(items, db_root, schemas, workers=1, **limits) for _ in range(args.repeats)],
        "EX, 2 workers": [api(items, db_root, schemas, workers=2, **limits) for _ in range(args.repeats)],
        "EX + EM (--etype all), 1 worker": [api(items, db_root, schemas, workers=1, etype="all", **limits) for _ in range(args.repeats)],
        "254 distinct items only, EX, 1 worker": [api(base, db_root, schemas, workers=1, **limits) for _ in range(args.repeats)],
    }
    raw_median = statistics.median(raw)
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"SQLite {sqlite3.sqlite_version}; load average before the runs {load[0]:.2f}")
    if args.scale > 1:
        print(f"databases: synthetic copies, every table's rows repeated {args.scale} times")
    print(f"inputs: {len(items)} items ({len(base)} distinct pairs replicated), {len(queries)} distinct queries; "
          f"median of {args.repeats} runs\n")
    print("| what | median time (min-max) | ratio to raw sqlite3 |")
    print("|---|---|---|")
    print(f"| raw sqlite3, each distinct query once | {1000 * raw_median:.1f} ms ({1000 * min(raw):.1f}-{1000 * max(raw):.1f}) | 1.0 |")
    f = statistics.median(floor)
    print(f"| floor: pairing the items with distinct verdicts, no SQL, no comparison | {1000 * f:.1f} ms "
          f"({1000 * min(floor):.1f}-{1000 * max(floor):.1f}) | {f / raw_median:.1f} |")
    for what, times in runs.items():
        t = statistics.median(times)
        print(f"| lrsql-eval API, {what} | {1000 * t:.1f} ms ({1000 * min(times):.1f}-{1000 * max(times):.1f}) | "
              f"{t / raw_median:.1f} |")


if __name__ == "__main__":
    main()
