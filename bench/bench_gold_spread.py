"""How often gold tables reach every tenth of the slice positions in a Spider dev ``--merge N`` conversion.

    .venv/bin/python bench/bench_gold_spread.py --seeds 0-19            # canonical slicing and --orders 3

For each seed it converts Spider dev (``../shared/data/spider``) with ``--merge N`` through the
Python API (no files written) and reads the report's histogram of gold-table slice positions by tenth: for the canonical
slicing (the one inference walks) and over all slicings of an ``--orders K`` conversion (the
training data).  It counts the seeds whose histogram has no empty tenth.

The pseudo-databases are formed from every database of ``tables.json`` by the seed, with the 20
databases of ``dev.json`` (Spider's held-out split) spread evenly over them and over the slice
positions; ``--no-spread`` measures the plain seeded shuffle instead (where the 20 land is then
chance).  Results: bench/results/gold_spread.json (gold_spread_no_spread.json with ``--no-spread``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lrsql_plugin.convert import convert  # noqa: E402
from lrsql_plugin.hparams.convert_args import ConvertArguments  # noqa: E402
from lrsql_plugin.sources.spider import load_spider  # noqa: E402

SPIDER = REPO.parent / "shared" / "data" / "spider"


def seed_range(text: str) -> list[int]:
    first, _, last = text.partition("-")
    return list(range(int(first), int(last or first) + 1))


def histogram(data, seed: int, merge: int, orders: int) -> dict[str, list[int]]:
    """The report's gold-table slice positions by tenth (what stats.json and report.md show)."""
    return convert(data, ConvertArguments(merge=merge, orders=orders, seed=seed), progress=False).report[
        "gold_slice_positions"
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", default="0-19", help="A seed or an inclusive range, e.g. 0-19.")
    ap.add_argument("--merge", type=int, default=50)
    ap.add_argument("--orders", type=int, default=3, help="Orders of the second conversion per seed.")
    ap.add_argument("--no-spread", action="store_true", help="Shuffle the dev databases like the others.")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    a = ap.parse_args()
    if not SPIDER.is_dir():
        sys.exit(f"needs {SPIDER} (../shared/data beside the repository)")
    data = load_spider(SPIDER, "dev")
    if a.no_spread:
        data.held_out = frozenset()
    rows = []
    start = time.perf_counter()
    for seed in seed_range(a.seeds):
        canonical = histogram(data, seed, a.merge, 1)["canonical"]
        all_slicings = histogram(data, seed, a.merge, a.orders)["all_slicings"]
        rows.append({"seed": seed, "canonical": canonical, f"all_slicings_orders_{a.orders}": all_slicings})
        print(seed, canonical, all_slicings, flush=True)
    key = f"all_slicings_orders_{a.orders}"
    result = {
        "merge": a.merge, "orders": a.orders, "held_out_spread": len(data.held_out), "seeds": len(rows), "seconds": round(time.perf_counter() - start, 1),
        "every_tenth_canonical": sum(all(r["canonical"]) for r in rows),
        "empty_tenths_canonical": sum(n == 0 for r in rows for n in r["canonical"]),
        "fullest_tenth_share_canonical": round(max(max(r["canonical"]) / sum(r["canonical"]) for r in rows), 3),
        f"every_tenth_{key}": sum(all(r[key]) for r in rows),
        "rows": rows,
    }
    a.out.mkdir(parents=True, exist_ok=True)
    name = "gold_spread_no_spread.json" if a.no_spread else "gold_spread.json"
    (a.out / name).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "rows"}, indent=2))


if __name__ == "__main__":
    main()
