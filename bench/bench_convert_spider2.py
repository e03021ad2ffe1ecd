"""Conversion time and peak memory on the shared Spider 2.0-lite part (issue 18).

Runs ``lrsql-convert spider2`` as a user would (a subprocess, SmolLM2's tokenizer, a 1,000-token
slice budget), once on the largest database's questions (``fec``) and once on the whole part, and
records wall time, peak resident memory, samples, output size, the largest slice and the tables
split and folded, beside the time of reading the source alone (the baseline every conversion pays).

    .venv/bin/python bench/bench_convert_spider2.py --tokenizer tests/.cache/tiny-llama-v1
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPIDER2 = ROOT.parent / "shared" / "data" / "spider2-lite"
CLI = Path(sys.executable).parent / "lrsql-convert"


def run(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if proc.returncode:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-3000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, max(peak, before) / 1024


def convert(tokenizer: str, budget: int, questions: Path | None, extra: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        cmd = [str(CLI), "spider2", "--spider2-dir", str(SPIDER2), "--tokenizer", tokenizer, "--tables-per-slice", "0",
               "--tokens-per-slice", str(budget), "--quiet", "--out", str(out), *extra]
        if questions:
            cmd += ["--questions", str(questions)]
        wall, peak = run(cmd)
        stats = json.loads((out / "stats.json").read_text())
        size = sum(p.stat().st_size for p in out.iterdir())
    lay = stats["layout"]
    return {
        "wall_s": round(wall, 1), "peak_rss_mib": round(peak), "questions": stats["converted"],
        "samples": {k: v["samples"] for k, v in stats["kinds"].items()},
        "over_cutoff": {k: v["over_cutoff"] for k, v in stats["kinds"].items()}, "cutoff_len": stats["cutoff_len"],
        "schema_link_prompt_max": stats["kinds"]["schema_link"]["prompt_tokens"]["max"],
        "full_schema_link_prompt_max": stats["kinds"]["full_schema_link"]["prompt_tokens"]["max"],
        "output_mib": round(size / 2**20, 1), "largest_slice_tokens": lay["largest_slice_tokens"],
        "split_tables": len(lay["split_tables"]), "families": len(lay["families"]),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--budget", type=int, default=1000)
    ap.add_argument("--extra", default="", help="extra lrsql-convert flags, e.g. '--none-per-question 2'")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "convert_spider2.json"))
    a = ap.parse_args()
    extra = a.extra.split()
    code = ("import time,sys; t=time.perf_counter(); from lrsql_plugin.sources.spider2 import load_spider2; "
            f"load_spider2({str(SPIDER2)!r}); print(time.perf_counter()-t)")
    load_wall, load_peak = run([sys.executable, "-c", code])
    with tempfile.TemporaryDirectory() as tmp:
        fec = Path(tmp) / "fec.jsonl"
        lines = [line for line in (SPIDER2 / "spider2-lite.jsonl").read_text().splitlines() if json.loads(line)["db"] == "fec"]
        fec.write_text("\n".join(lines) + "\n")
        largest = convert(a.tokenizer, a.budget, fec, extra)
    whole = convert(a.tokenizer, a.budget, None, extra)
    result = {
        "machine": f"{platform.machine()} {platform.processor() or ''} {platform.system()} Python {platform.python_version()}, "
                   f"{__import__('os').cpu_count()} cores",
        "date": time.strftime("%Y-%m-%d"), "budget": a.budget, "extra_flags": extra,
        "read_source_only": {"wall_s": round(load_wall, 1), "peak_rss_mib": round(load_peak)},
        "fec": largest, "whole_part": whole,
        "ratios_to_reading_the_source": {"fec": round(largest["wall_s"] / load_wall, 2), "whole": round(whole["wall_s"] / load_wall, 2)},
    }
    Path(a.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
