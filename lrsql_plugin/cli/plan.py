"""``lrsql-plan``: peak training memory of both recipes of each pair, for a model config and a converted
dataset, and the recipes whose cutoff_len would truncate that dataset."""

from __future__ import annotations

import json
import sys

import click

from lrsql_plugin.errors import LrsqlError


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--model-config", required=True,
              help="config.json, a model folder holding one, or an architecture name (qwen2.5-7b-instruct, smollm2-135m).")
@click.option("--dataset", "dataset_dir", type=click.Path(file_okay=False), default=None,
              help="lrsql-convert --out folder (its stats.json gives the longest samples).")
@click.option("--longest", type=click.IntRange(min=1), default=None, help="Longest schema-link sample in tokens (instead of --dataset).")
@click.option("--full-longest", type=click.IntRange(min=1), default=None, help="Longest full-schema sample in tokens (instead of --dataset).")
@click.option("--method", "methods", type=click.Choice(["lora", "qlora"]), multiple=True, help="Default: both.")
@click.option("--rank", type=click.IntRange(min=1), default=16, show_default=True, help="lora_rank.")
@click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True, help="per_device_train_batch_size.")
@click.option("--no-checkpointing", is_flag=True, help="disable_gradient_checkpointing: true.")
@click.option("--device", type=click.Choice(["gpu", "cpu"]), default="gpu", show_default=True,
              help="gpu: CUDA allocated memory in bf16; cpu: the process's peak RSS in float32.")
@click.option("--recipes-dir", type=click.Path(file_okay=False), default=None, help="Recipes to check cutoff_len of (default: the shipped ones).")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
def main(model_config, dataset_dir, longest, full_longest, methods, rank, batch, no_checkpointing, device,
         recipes_dir, as_json) -> None:
    """Plan peak training memory (LR-SQL schema_link against full_schema_link)."""
    from lrsql_plugin.planning.memory import ModelShape
    from lrsql_plugin.planning.plan import (
        cutoff_warnings,
        format_cutoff_warnings,
        format_plan,
        longest_by_kind,
        plan_dataset,
        read_stats,
    )

    try:
        lengths = longest_by_kind(read_stats(dataset_dir)) if dataset_dir else {}
        if longest:
            lengths["schema_link"] = longest
        if full_longest:
            lengths["full_schema_link"] = full_longest
        if not {"schema_link", "full_schema_link"} <= set(lengths):
            raise LrsqlError("give --dataset, or --longest and --full-longest")
        plan = plan_dataset(ModelShape.from_config(model_config), lengths, rank, batch, not no_checkpointing,
                            2 if device == "gpu" else 4, device, tuple(methods) or ("lora", "qlora"))
        plan["cutoff_warnings"] = cutoff_warnings(lengths, recipes_dir)
    except (LrsqlError, ValueError) as e:
        click.echo(f"lrsql-plan: error: {e}", err=True)
        sys.exit(2)
    if as_json:
        click.echo(json.dumps(plan, indent=2))
        return
    for line in format_plan(plan) + format_cutoff_warnings(plan["cutoff_warnings"]):
        click.echo(line)


if __name__ == "__main__":
    main()
