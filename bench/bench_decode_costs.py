"""Where the time of two-stage inference goes on a CPU, and what batching can and cannot remove.

    .venv/bin/python bench/bench_decode_costs.py                  # cost components + the bound they imply
    .venv/bin/python bench/bench_decode_costs.py --experiments    # + transformers' continuous batching, row eviction

Part 1 measures, through ``generate`` on the model and adapter that ``bench_inference.py`` uses
(SmolLM2-135M-Instruct, a random rank-16 LoRA on every linear layer, float32):

- the prefill cost per prompt (``max_new_tokens=1``) at batch 1 and at batch ``--batch-size``;
- the cost of one decoding step at batch 1 and at batch ``--batch-size`` (the difference between
  ``max_new_tokens=1+n`` and ``1``, divided by ``n``; ``min_new_tokens`` forces every step);
- both again for the batch with one row left-padded by 5 tokens (the attention-mask path).

From these it computes, for a number of decoded tokens per prompt, the time per prompt of the
sequential mode (``P1 + k * s1``) and of the batched mode (``PB + k * sB / B``), their ratio, and the
ratio's ceiling if decoding in a batch cost nothing (``(P1 + k * s1) / PB``).

Part 2 (``--experiments``) tries two ways to go further on the real benchmark prompts (the
Spider-DK questions of ``bench_inference.py`` at the CLI's default caps):

- transformers' own continuous batching (``generate_batch``, paged attention) against the engine's
  length-sorted padded batches, on the same prompts;
- a greedy loop that drops each row from the batch and its KV cache as soon as it has finished
  (one ``generate`` call keeps computing finished rows until the longest one ends), against the
  engine.  The engine has since adopted the idea in its own way: it calls ``generate`` for 16 new
  tokens at a time and drops the finished rows between calls, which keeps the checkpoint's
  generation settings.  ``decode_costs.json`` was recorded before that change.

Both check that their outputs equal the engine's.  Results: bench/results/decode_costs.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_inference import arguments, model_and_adapters, questions  # noqa: E402
from machine import cpu_model  # noqa: E402


def best_of(repeats: int, fn) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def cost_components(model, torch, prompt_tokens: int, batch: int, steps: int, repeats: int) -> dict:
    """Prefill seconds per prompt and seconds per decoding step, at batch 1 and at ``batch``."""
    rng = random.Random(0)
    out = {}
    for b in (1, batch):
        ids = torch.tensor([[rng.randint(100, 40000) for _ in range(prompt_tokens)] for _ in range(b)])
        mask = torch.ones_like(ids)

        def run(new: int, ids=ids, mask=mask) -> None:
            with torch.inference_mode():
                model.generate(input_ids=ids, attention_mask=mask, do_sample=False, max_new_tokens=new,
                               min_new_tokens=new, pad_token_id=0)

        run(2)  # warm-up
        prefill = best_of(repeats, lambda: run(1))
        longer = best_of(repeats, lambda: run(1 + steps))
        out[b] = {"prefill_s_per_prompt": prefill / b, "step_s": (longer - prefill) / steps}
        if b > 1:  # the same batch with one row left-padded by 5 tokens: the masked attention path
            padded = mask.clone()
            padded[0, :5] = 0
            prefill = best_of(repeats, lambda padded=padded: run(1, mask=padded))
            longer = best_of(repeats, lambda padded=padded: run(1 + steps, mask=padded))
            out[b].update(padded_prefill_s_per_prompt=prefill / b, padded_step_s=(longer - prefill) / steps)
    return out


def bounds(costs: dict, batch: int, tokens: list[int]) -> list[dict]:
    p1, s1 = costs[1]["prefill_s_per_prompt"], costs[1]["step_s"]
    pb, sb = costs[batch]["prefill_s_per_prompt"], costs[batch]["step_s"]
    rows = []
    for k in tokens:
        seq, bat = p1 + k * s1, pb + k * sb / batch
        rows.append({"new_tokens": k, "sequential_s_per_prompt": round(seq, 3), "batched_s_per_prompt": round(bat, 3),
                     "ratio": round(seq / bat, 2), "ceiling_if_decoding_were_free": round(seq / pb, 2)})
    return rows


def greedy_with_eviction(model, torch, batch: list[list[int]], max_new: int, stops: set[int], pad: int) -> list[list[int]]:
    """Greedy decoding that removes finished rows from the batch and the KV cache (experiment only)."""
    from transformers import DynamicCache

    width = max(len(ids) for ids in batch)
    ids = torch.tensor([[pad] * (width - len(x)) + x for x in batch])
    mask = torch.tensor([[0] * (width - len(x)) + [1] * len(x) for x in batch])
    positions = (mask.cumsum(-1) - 1).masked_fill(mask == 0, 1)
    cache = DynamicCache(config=model.config)
    rows = torch.arange(len(batch))
    out: list[list[int]] = [[] for _ in batch]
    with torch.inference_mode():
        logits = model(input_ids=ids, attention_mask=mask, position_ids=positions, past_key_values=cache,
                       use_cache=True, cache_position=torch.arange(width), logits_to_keep=1).logits
        step = 0
        while True:
            tokens = logits[:, -1, :].float().argmax(-1)
            keep = []
            for k, (row, tok) in enumerate(zip(rows.tolist(), tokens.tolist())):
                if tok in stops:
                    continue
                out[row].append(tok)
                if len(out[row]) < max_new:
                    keep.append(k)
            if not keep:
                return out
            if len(keep) < len(rows):
                index = torch.tensor(keep)
                cache.batch_select_indices(index)
                mask, rows, tokens = mask[index], rows[index], tokens[index]
            mask = torch.cat([mask, torch.ones(len(rows), 1, dtype=mask.dtype)], 1)
            step += 1
            logits = model(input_ids=tokens[:, None], attention_mask=mask, position_ids=mask.sum(-1, keepdim=True) - 1,
                           past_key_values=cache, use_cache=True, cache_position=torch.tensor([width + step - 1]),
                           logits_to_keep=1).logits


def experiments(a: argparse.Namespace, base: Path, adapters: dict, torch) -> dict:
    """Row eviction and transformers' continuous batching on the real benchmark prompts."""
    from lrsql_plugin.inference.run import engine_from_arguments, run_inference

    args = arguments(base, adapters, a, "float32", batch_size=a.batch_size, chunk_size=256)
    engine = engine_from_arguments(args)
    stops, pad = set(engine.encoder.stop_token_ids), engine.encoder.pad_token_id
    batches: list[tuple[list[list[int]], int]] = []
    engine_generate = engine._generate_batch

    def recording(batch: list[list[int]], max_new: int) -> list[str]:
        batches.append((batch, max_new))
        return engine_generate(batch, max_new)

    engine._generate_batch = recording
    with tempfile.TemporaryDirectory() as out:  # predictions are not kept: only the engine batches are
        run_inference(questions(a.data, 2), args, Path(out) / "warmup", engine=engine, progress=False)
        batches.clear()
        run_inference(questions(a.data, a.questions), args, Path(out) / "run", engine=engine, progress=False)
    engine._generate_batch = engine_generate

    result = {"engine_batches": [(len(b), max(map(len, b)), n) for b, n in batches]}
    engine_s = eviction_s = 0.0
    same = total = decoded_by_batch = 0
    lengths: list[int] = []  # new tokens of each answer (without the stop token)
    references = []
    for batch, max_new in batches:
        start = time.perf_counter()
        reference = engine._generate_batch(batch, max_new)
        engine_s += time.perf_counter() - start
        references.append(reference)
        start = time.perf_counter()
        evicted = greedy_with_eviction(engine.model, torch, batch, max_new, stops, pad)
        eviction_s += time.perf_counter() - start
        same += sum(r == engine.encoder.decode(e) for r, e in zip(reference, evicted))
        total += len(batch)
        lengths.extend(len(e) for e in evicted)
        decoded_by_batch += max(len(e) for e in evicted) * len(batch)
    result["row_eviction"] = {"engine_s": round(engine_s, 2), "eviction_s": round(eviction_s, 2),
                              "ratio": round(engine_s / eviction_s, 2), "identical": f"{same}/{total}"}
    result["answer_tokens"] = {  # rows x steps: what padded batches decode against what the answers need
        "min": min(lengths), "mean": round(sum(lengths) / len(lengths), 1), "max": max(lengths),
        "rows_x_steps_padded_batches": decoded_by_batch, "rows_x_steps_answers": sum(lengths),
    }

    # continuous batching last: generate_batch switches the model to paged attention
    from transformers import GenerationConfig
    from transformers.generation.configuration_utils import ContinuousBatchingConfig

    inner = engine.model.base_model.model
    cb_s = 0.0
    same = 0
    for (batch, max_new), reference in zip(batches, references):
        config = GenerationConfig(max_new_tokens=max_new, do_sample=False, eos_token_id=sorted(stops), pad_token_id=pad)
        start = time.perf_counter()
        with torch.inference_mode():
            res = inner.generate_batch(inputs=batch, generation_config=config, progress_bar=False,
                                       continuous_batching_config=ContinuousBatchingConfig(block_size=32,
                                                                                           max_batch_tokens=4096))
        cb_s += time.perf_counter() - start
        for i, text in enumerate(reference):
            same += engine.encoder.decode([t for t in res[f"req_{i}"].generated_tokens if t not in stops]) == text
    result["continuous_batching"] = {"engine_s": round(engine_s, 2), "generate_batch_s": round(cb_s, 2),
                                     "ratio": round(engine_s / cb_s, 2), "identical": f"{same}/{total}"}
    engine.close()
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prompt-tokens", type=int, default=220, help="Prompt length for part 1 (the benchmark's mean).")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--steps", type=int, default=32, help="Decoding steps timed for the per-step cost.")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--new-tokens", default="1,16,27,64,128", help="Decoded tokens per prompt for the bound table.")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--experiments", action="store_true", help="Also part 2 (about 5 minutes on 2 cores).")
    ap.add_argument("--questions", type=int, default=16, help="Questions for part 2.")
    ap.add_argument("--data", choices=("dk", "demo"), default="dk")
    ap.add_argument("--tables-per-slice", type=int, default=2)
    ap.add_argument("--link-max-new-tokens", type=int, default=64)
    ap.add_argument("--sql-max-new-tokens", type=int, default=256)
    ap.add_argument("--cache", type=Path, default=REPO / "tests" / ".cache")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    a = ap.parse_args()

    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from lrsql_plugin.inference.engines.base import SCHEMA_LINK

    torch.set_num_threads(a.threads)
    base, adapters = model_and_adapters(a.cache)
    a.out.mkdir(parents=True, exist_ok=True)
    result = {
        "machine": {"cpus": os.cpu_count(), "cpu": cpu_model(), "python": platform.python_version(),
                    "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
                    "load_before": os.getloadavg()[0]},
        "prompt_tokens": a.prompt_tokens, "batch_size": a.batch_size,
    }
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32),
                                      adapters[SCHEMA_LINK]).eval()
    costs = cost_components(model, torch, a.prompt_tokens, a.batch_size, a.steps, a.repeats)
    del model
    result["costs"] = {str(b): {k: round(v, 4) for k, v in c.items()} for b, c in costs.items()}
    result["bounds"] = bounds(costs, a.batch_size, [int(k) for k in a.new_tokens.split(",")])
    if a.experiments:
        result["experiments"] = experiments(a, base, adapters, torch)
    (a.out / "decode_costs.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
