"""The BM25 baseline linker over the shared Spider 2.0-lite part: recall@5/10/20 and exact set by engine.

Runs ``lrsql-eval --link-only --linker bm25 --top-k K --spider2-dir ../shared/data/spider2-lite`` (no
model: each question links the top K tables of a BM25 ranking of its family-folded database) and
prints the linking metrics per engine from its metrics.json, with the time the run took.

    .venv/bin/python bench/bench_bm25_spider2.py [--top-k 10] [--out /tmp/bm25-spider2]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from click.testing import CliRunner

from lrsql_plugin.cli.evaluate import main as lrsql_eval

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--spider2-dir", type=Path, default=SHARED / "spider2-lite")
    ap.add_argument("--top-k", type=int, default=10)
    ap.add_argument("--out", type=Path, help="Output folder (default: a temporary one).")
    a = ap.parse_args()
    out = a.out or Path(tempfile.mkdtemp(prefix="bm25-spider2-")) / "out"
    t0 = time.perf_counter()
    result = CliRunner().invoke(lrsql_eval, [
        "--link-only", "--linker", "bm25", "--top-k", str(a.top_k), "--spider2-dir", str(a.spider2_dir),
        "--out", str(out), "--no-progress", "--overwrite",
    ], catch_exceptions=False)
    seconds = time.perf_counter() - t0
    if result.exit_code != 0:
        raise SystemExit(result.output)
    linking = json.loads((out / "metrics.json").read_text(encoding="utf-8"))["linking"]
    rows = {**linking["by_engine"], "all": linking}
    print(f"BM25 top-{a.top_k} linking, Spider 2.0-lite (shared part), {seconds:.1f} s (load + rank + report)\n")
    print(f"| engine | questions | recall@5 | recall@10 | recall@20 | exact set (top {a.top_k}) | avg recall (top {a.top_k}) |")
    print("|---|---|---|---|---|---|---|")
    for name, m in rows.items():
        r = m["recall_at_k"]
        print(f"| {name} | {m['scored']} | {pct(r['5'])} | {pct(r['10'])} | {pct(r['20'])} | "
              f"{pct(m['exact_set_accuracy'])} | {pct(m['avg_recall'])} |")
    print(f"\noutputs: {out}")


if __name__ == "__main__":
    main()
