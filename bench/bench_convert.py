"""Conversion speed with an exact tokenizer: per-sample chat-template counting against the batched counter.

Converts the LR-SQL paper's Dataset2 training questions (1,736 questions, one pseudo-database of 39
databases and 172 tables, a 950-token slice budget) with ``--tokenizer``, twice in one process: once
counting every sample with its own ``apply_chat_template`` call (the counter before the speed-up) and
once with the batched counter, and checks that both give the same token counts for every sample.

    .venv/bin/python bench/bench_convert.py --tokenizer tests/.cache/tiny-llama-v1
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

from lrsql_plugin.convert import convert
from lrsql_plugin.hparams.convert_args import ConvertArguments
from lrsql_plugin.report.convert_report import build_convert_report
from lrsql_plugin.sources.spider import load_spider
from lrsql_plugin.tokens import load_token_counter

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tokenizer", required=True, help="Local tokenizer folder (e.g. SmolLM2's).")
    ap.add_argument("--split", default="train", choices=["train", "val"])
    ap.add_argument("--out", default="bench/results/convert_speed.json")
    a = ap.parse_args()
    paper = SHARED / "lrsql-paper" / "dataset2"
    data = load_spider(SHARED / "spider", questions=[paper / f"{a.split}.json"])
    args = ConvertArguments(
        tables_per_slice=[], tokens_per_slice=950, tokenizer=a.tokenizer, merge_dbs=str(paper / "databases.txt")
    )
    t0 = time.perf_counter()
    result = convert(data, args, progress=False)
    fast_total = time.perf_counter() - t0
    counter = load_token_counter(a.tokenizer)
    t1 = time.perf_counter()
    fast = build_convert_report(result.samples, counter, args, [], len(data.examples), data.name)
    fast_report = time.perf_counter() - t1
    counter.batch = None  # every sample through apply_chat_template, as before
    t2 = time.perf_counter()
    slow = build_convert_report(result.samples, counter, args, [], len(data.examples), data.name)
    slow_report = time.perf_counter() - t2
    samples = sum(len(v) for v in result.samples.values())
    same = fast["kinds"] == slow["kinds"]
    out = {
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, Python {platform.python_version()}",
        "questions": len(result.questions),
        "samples": samples,
        "slices": len(result.questions[0]["slices"]),
        "conversion_s (batched counter, everything)": round(fast_total, 2),
        "counting_s batched": round(fast_report, 2),
        "counting_s per-sample": round(slow_report, 2),
        "speedup": round(slow_report / fast_report, 1),
        "estimated conversion_s before": round(fast_total - fast_report + slow_report, 2),
        "identical_counts": same,
    }
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))
    if not same:
        raise SystemExit("token counts differ between the two counters")


if __name__ == "__main__":
    main()
