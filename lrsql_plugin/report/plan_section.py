"""The conversion report's cost sections: what the schema-link selection removed (duplicates, None
samples beyond ``--none-per-question``) with samples and tokens per epoch before and after, the
planner's peak-memory estimate for the recipe pairs, and warnings for recipes whose ``cutoff_len``
would truncate the dataset."""

from __future__ import annotations

from pathlib import Path

from lrsql_plugin.errors import LrsqlError
from lrsql_plugin.hparams.convert_args import ConvertArguments
from lrsql_plugin.planning.memory import ModelShape
from lrsql_plugin.planning.plan import (
    cutoff_warnings,
    format_cutoff_warnings,
    format_plan,
    longest_by_kind,
    plan_dataset,
)
from lrsql_plugin.samples.selection import SelectionStats
from lrsql_plugin.tokens import TokenCounter


def model_config_source(args: ConvertArguments) -> str | None:
    """The model config to plan with: ``--model-config``, else the tokenizer's folder if it holds a config.json."""
    if getattr(args, "model_config", None):
        return args.model_config
    if args.tokenizer and (Path(args.tokenizer) / "config.json").is_file():
        return args.tokenizer
    return None


def add_plan_sections(report: dict, selection: SelectionStats | None, counter: TokenCounter, args: ConvertArguments) -> dict:
    """Adds ``schema_link_selection``, ``memory_plan`` (when a model config is known) and
    ``cutoff_warnings`` to a report built by ``build_convert_report``; returns it."""
    kinds = report["kinds"]
    if selection is not None:
        after = kinds["schema_link"].get("tokens_per_epoch", 0)
        dropped = sum(t for _, t in counter.samples(
            [(s.prompt.system, s.prompt.instruction, s.prompt.input, s.output) for s in selection.dropped]
        ))
        report["schema_link_selection"] = {
            **selection.as_dict(),
            "tokens_per_epoch_before": after + dropped,
            "tokens_per_epoch_after": after,
        }
    longest = longest_by_kind(report)
    report["cutoff_warnings"] = cutoff_warnings(longest, prefix=args.prefix)
    source = model_config_source(args)
    if source and all(k in longest for k in ("schema_link", "full_schema_link")):
        try:
            report["memory_plan"] = plan_dataset(ModelShape.from_config(source), longest)
            from lrsql_plugin.manifest import portable_name  # no path of this machine in the report

            report["memory_plan"]["model"] = portable_name(report["memory_plan"]["model"] or source)
        except LrsqlError as e:
            report["memory_plan_error"] = str(e)
    return report


def plan_lines(report: dict) -> list[str]:
    """Printed lines of the sections above (also used, bulleted, in report.md)."""
    lines = []
    sel = report.get("schema_link_selection")
    if sel:
        k = sel["none_per_question"]
        lines.append(
            f"schema-link selection: {sel['samples_before']} samples ({sel['tokens_per_epoch_before']:,} tokens per epoch) -> "
            f"{sel['samples_after']} ({sel['tokens_per_epoch_after']:,}); {sel['duplicates_removed']} exact duplicates removed"
            + (f", {sel['none_dropped']} None samples beyond {k} per question dropped" if k is not None else "")
        )
    tokens = {kind: k.get("tokens_per_epoch") for kind, k in report["kinds"].items()}
    if tokens.get("schema_link") is not None and tokens.get("full_schema_link"):
        lines.append(
            f"tokens per epoch: schema_link {tokens['schema_link']:,} vs full_schema_link {tokens['full_schema_link']:,} "
            f"({tokens['schema_link'] / tokens['full_schema_link']:.2f}x the compute per epoch)"
        )
    if "memory_plan" in report:
        lines += format_plan(report["memory_plan"])
        if str(report.get("token_count", "")).startswith("approximate"):
            lines.append("  (from approximate token counts: give --tokenizer for exact lengths)")
    elif "memory_plan_error" in report:
        lines.append(f"memory plan: {report['memory_plan_error']}")
    lines += format_cutoff_warnings(report.get("cutoff_warnings", []))
    return lines
