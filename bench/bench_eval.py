"""Benchmark lrsql-eval against the raw cost of running each gold and prediction once with plain sqlite3.

Inputs: the 127 Spider-DK questions on the three databases shipped with contents, each scored
twice: once with the gold as prediction and once with a perturbed prediction (columns reversed,
else WHERE dropped, else LIMIT 1 added).  The raw baseline opens each database with plain
``sqlite3.connect`` and executes every gold and every prediction once (``fetchall``), nothing
else.  lrsql-eval is timed through its Python API (``evaluate``), and end to end as a CLI
process writing all outputs.  Each measurement is repeated; medians are reported.

    .venv/bin/python bench/bench_eval.py [--repeats 5] [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlglot
from machine import cpu_model  # bench/machine.py (the script folder is on sys.path)
from sqlglot import exp
from sqlglot.errors import SqlglotError

from lrsql_plugin.evaluation import EvalItem, evaluate
from lrsql_plugin.hparams.eval_args import EvalArguments

DK_DB_IDS = ("new_concert_singer", "new_orchestra", "new_pets_1")
REPO = Path(__file__).resolve().parents[1]


def perturb(sql: str) -> str:
    """A plausible model mistake (or, for reversed columns, an equivalent answer under Spider EX)."""
    try:
        tree = sqlglot.parse_one(sql, read="sqlite")
    except SqlglotError:
        return sql
    select = tree
    while isinstance(select, exp.SetOperation):
        select = select.this
    if not isinstance(select, exp.Select):
        return sql
    if len(select.expressions) > 1:
        select.set("expressions", select.expressions[::-1])
    elif select.args.get("where"):
        select.set("where", None)
    else:
        select.limit(1, copy=False)
    return tree.sql(dialect="sqlite")


def load_items(data: Path) -> list[EvalItem]:
    questions = json.loads((data / "spider-dk" / "Spider-DK.json").read_text(encoding="utf-8"))
    questions = [q for q in questions if q["db_id"] in DK_DB_IDS]
    items = [EvalItem(q["db_id"], q["query"], q["query"], question=q["question"]) for q in questions]
    return items + [EvalItem(q["db_id"], q["query"], perturb(q["query"]), question=q["question"]) for q in questions]


def raw_sqlite(items: list[EvalItem], db_root: Path) -> float:
    """Seconds to execute every gold and every prediction once with plain sqlite3."""
    started = time.perf_counter()
    conns = {db_id: sqlite3.connect(db_root / db_id / f"{db_id}.sqlite") for db_id in DK_DB_IDS}
    for item in items:
        for sql in (item.gold, item.prediction):
            with contextlib.suppress(sqlite3.Error):
                conns[item.db_id].execute(sql).fetchall()
    for conn in conns.values():
        conn.close()
    return time.perf_counter() - started


def api(items: list[EvalItem], db_root: Path, workers: int) -> tuple[float, float | None]:
    started = time.perf_counter()
    result = evaluate(items, db_root, EvalArguments(workers=workers), progress=False)
    return time.perf_counter() - started, result.ex


def cli(items: list[EvalItem], db_root: Path, workers: int) -> float:
    """Wall time of a whole ``lrsql-eval`` process (start-up, evaluation, all four output files)."""
    with tempfile.TemporaryDirectory() as tmp:
        jsonl = Path(tmp) / "items.jsonl"
        jsonl.write_text("".join(json.dumps({"db_id": i.db_id, "question": i.question, "gold": i.gold,
                                             "prediction": i.prediction}) + "\n" for i in items), encoding="utf-8")
        command = [str(Path(sys.executable).with_name("lrsql-eval")), "--jsonl", str(jsonl), "--db", str(db_root),
                   "--workers", str(workers), "--out", str(Path(tmp) / "out"), "--no-progress"]
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    args = parser.parse_args()
    db_root = args.data / "spider-dk" / "database"
    items = load_items(args.data)
    api(items[:3], db_root, 1)  # warm the imports and the page cache
    load = os.getloadavg()

    raw = [raw_sqlite(items, db_root) for _ in range(args.repeats)]
    runs = {w: [api(items, db_root, w) for _ in range(args.repeats)] for w in (1, 2)}
    cli_runs = [cli(items, db_root, 2) for _ in range(args.repeats)]

    raw_median = statistics.median(raw)
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"SQLite {sqlite3.sqlite_version}; load average before the runs {load[0]:.2f}")
    print(f"inputs: {len(items)} items ({len(items) // 2} Spider-DK questions x gold + perturbed prediction), "
          f"median of {args.repeats} runs")
    print(f"EX: {runs[1][0][1]:.4f} (gold-as-prediction half 100%, broken gold excluded)\n")
    print("| what | median time (min-max) | per item | ratio to raw sqlite3 |")
    print("|---|---|---|---|")

    def row(what: str, times: list[float], per_item: bool = True) -> None:
        t = statistics.median(times)
        print(f"| {what} | {1000 * t:.1f} ms ({1000 * min(times):.1f}-{1000 * max(times):.1f}) | "
              f"{f'{1e6 * t / len(items):.0f} us' if per_item else '-'} | {t / raw_median:.1f} |")

    row("raw sqlite3, every gold and prediction once", raw)
    for w, results in runs.items():
        row(f"lrsql-eval Python API, {w} worker{'s' if w > 1 else ''}", [r[0] for r in results])
    row("lrsql-eval CLI process, 2 workers, all outputs", cli_runs, per_item=False)


if __name__ == "__main__":
    main()
