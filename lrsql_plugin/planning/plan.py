"""The plan for a converted dataset: peak memory of each recipe pair and the recipes' cutoff_len checks.

    plan = plan_dataset(ModelShape.from_config("qwen2.5-7b-instruct"), longest_by_kind(stats))
    print(format_plan(plan))
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from lrsql_plugin.errors import LrsqlError
from lrsql_plugin.planning.memory import METHODS, ModelShape, TrainSetup, plan_pair

PAIR = ("schema_link", "full_schema_link")


def longest_by_kind(report: dict) -> dict[str, int]:
    """Longest sample (prompt + answer tokens) per dataset kind, from a conversion report / stats.json."""
    return {kind: k["total_tokens"]["max"] for kind, k in report["kinds"].items() if k.get("samples")}


def read_stats(dataset_dir: str | Path) -> dict:
    path = Path(dataset_dir) / "stats.json"
    if not path.is_file():
        raise LrsqlError(f"{path} not found: give the --out folder of lrsql-convert")
    return json.loads(path.read_text())


def recipe_cutoffs(recipes_dir: str | Path | None = None, prefix: str = "lrsql") -> list[dict]:
    """Every recipe's dataset kind and cutoff_len (the shipped recipes by default)."""
    if recipes_dir is None:
        from lrsql_plugin.resources import resource_dir

        recipes_dir = resource_dir("recipes")
    rows = []
    for path in sorted(Path(recipes_dir).glob("*.yaml")):
        config = yaml.safe_load(path.read_text()) or {}
        dataset = str(config.get("dataset", ""))
        if not dataset.startswith(f"{prefix}_") or "cutoff_len" not in config:
            continue
        rows.append({"recipe": path.stem, "kind": dataset[len(prefix) + 1:], "cutoff_len": int(config["cutoff_len"])})
    return rows


def cutoff_warnings(longest: dict[str, int], recipes_dir: str | Path | None = None, prefix: str = "lrsql") -> list[dict]:
    """The recipes whose cutoff_len is shorter than the longest sample of their dataset: LLaMA-Factory
    would silently cut those samples (the schema of a full-schema prompt, or the answer)."""
    return [
        {**r, "longest": longest[r["kind"]]}
        for r in recipe_cutoffs(recipes_dir, prefix)
        if r["kind"] in longest and longest[r["kind"]] > r["cutoff_len"]
    ]


def plan_dataset(
    shape: ModelShape,
    longest: dict[str, int],
    rank: int = 16,
    batch: int = 1,
    checkpointing: bool = True,
    compute_bytes: int = 2,
    device: str = "gpu",
    methods: tuple[str, ...] = METHODS,
) -> dict:
    """Peak memory of schema_link against full_schema_link for each method."""
    if not all(k in longest for k in PAIR):
        raise LrsqlError(f"the dataset lacks {', '.join(k for k in PAIR if k not in longest)} samples")
    pairs = {
        m: plan_pair(shape, TrainSetup(m, rank, batch, checkpointing, compute_bytes, device), *(longest[k] for k in PAIR))
        for m in methods
    }
    return {
        "model": shape.name,
        "params": shape.params,
        "longest": {k: longest[k] for k in PAIR},
        "device": device,
        "pairs": pairs,
    }


def format_plan(plan: dict) -> list[str]:
    """Lines for the printed report."""
    lines = [
        f"planned peak training memory ({plan['model']}, {plan['params'] / 1e9:.2f} B parameters, "
        f"{'CUDA allocated' if plan['device'] == 'gpu' else 'process RSS'}; longest sample "
        f"{plan['longest']['schema_link']} vs {plan['longest']['full_schema_link']} tokens):"
    ]
    for method, p in plan["pairs"].items():
        s = p["setup"]
        lines.append(
            f"  {method} r{s['rank']}, batch {s['batch']}, checkpointing {'on' if s['checkpointing'] else 'off'}: "
            f"schema_link {p['schema_link']['peak_gib']:.1f} GiB, full_schema_link {p['full_schema_link']['peak_gib']:.1f} GiB"
            f" (ratio {p['ratio']:.2f})"
        )
    return lines


def format_cutoff_warnings(warnings: list[dict]) -> list[str]:
    return [
        f"WARNING: recipe {w['recipe']} has cutoff_len {w['cutoff_len']} but the longest {w['kind']} sample is "
        f"{w['longest']} tokens: LLaMA-Factory would truncate it; override cutoff_len={w['longest']} or more"
        for w in warnings
    ]
