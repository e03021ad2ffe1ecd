"""The conversion report: samples per kind, prompt-length percentiles, cutoff overflow, and the
headline — how much shorter LR-SQL's longest and p95 schema-link prompts are than the full schema's."""

from __future__ import annotations

import math

from lrsql_plugin.errors import Skipped, where
from lrsql_plugin.hparams.convert_args import ConvertArguments
from lrsql_plugin.report.plan_section import plan_lines
from lrsql_plugin.samples.builders import KINDS, Sample
from lrsql_plugin.tokens import TokenCounter

MAX_LISTED_SKIPS = 200


def percentile(values: list[int], q: float) -> int:
    """Nearest-rank percentile (0 for an empty list)."""
    if not values:
        return 0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def build_convert_report(
    samples: dict[str, list[Sample]],
    counter: TokenCounter,
    args: ConvertArguments,
    skipped: list[Skipped],
    n_questions: int,
    source: str,
) -> dict:
    kinds = {}
    for kind in KINDS:
        counts = counter.samples(
            [(s.prompt.system, s.prompt.instruction, s.prompt.input, s.output) for s in samples.get(kind, [])]
        )
        prompt, total = [p for p, _ in counts], [t for _, t in counts]
        kinds[kind] = {
            "samples": len(prompt),
            "prompt_tokens": {"p50": percentile(prompt, 50), "p95": percentile(prompt, 95), "max": max(prompt, default=0)},
            "total_tokens": {"p50": percentile(total, 50), "p95": percentile(total, 95), "max": max(total, default=0)},
            "over_cutoff": sum(t > args.cutoff_len for t in total),
            "tokens_per_epoch": sum(total),
        }
    sl, full = kinds["schema_link"]["prompt_tokens"], kinds["full_schema_link"]["prompt_tokens"]
    return {
        "source": source,
        "questions": n_questions,
        "converted": kinds["sql_generation"]["samples"],
        "skipped": len(skipped),
        "skipped_records": [{"file": s.file, "record": s.record, "reason": s.reason} for s in skipped[:MAX_LISTED_SKIPS]],
        "token_count": counter.description,
        "cutoff_len": args.cutoff_len,
        "prompt_layout": args.prompt_layout,
        "kinds": kinds,
        "schema_link_vs_full_schema": {
            "max_reduction": _reduction(sl["max"], full["max"]),
            "p95_reduction": _reduction(sl["p95"], full["p95"]),
        },
    }


def _reduction(ours: int, baseline: int) -> float | None:
    return round(1 - ours / baseline, 4) if baseline else None


def format_convert_report(report: dict) -> str:
    """The printed table."""
    lines = [
        f"source {report['source']}: {report['converted']} of {report['questions']} questions converted, "
        f"{report['skipped']} skipped",
        f"tokens: {report['token_count']}; cutoff_len {report['cutoff_len']}",
        "",
        f"{'dataset':<18}{'samples':>9}{'prompt p50':>12}{'p95':>8}{'max':>8}{'total max':>11}{'> cutoff':>10}",
    ]
    for kind, k in report["kinds"].items():
        p = k["prompt_tokens"]
        lines.append(
            f"{kind:<18}{k['samples']:>9}{p['p50']:>12}{p['p95']:>8}{p['max']:>8}{k['total_tokens']['max']:>11}{k['over_cutoff']:>10}"
        )
    red = report["schema_link_vs_full_schema"]
    if red["max_reduction"] is not None:
        lines += [
            "",
            f"schema-link prompt vs full schema: longest {red['max_reduction']:.1%} shorter, p95 {red['p95_reduction']:.1%} shorter",
        ]
    lines += _layout_lines(report)
    lines += plan_lines(report)
    for s in report["skipped_records"][:10]:
        lines.append(f"skipped: {where(s['file'], s['record'])}: {s['reason']}")
    if report["skipped"] > 10:
        lines.append(f"... and {report['skipped'] - 10} more skipped (see stats.json)")
    return "\n".join(lines)


def source_lines(report: dict) -> list[str]:
    """What the source read (its notes), gold-only questions, and cutoff warnings by sample kind."""
    lines = list(report.get("source_notes") or [])
    if report.get("gold_only_questions"):
        lines.append(
            f"{report['gold_only_questions']} questions have gold tables and no SQL: schema-link samples and linking "
            f"evaluation only ({report.get('sql_questions', 0)} questions with SQL give SQL samples)"
        )
    for kind, k in report["kinds"].items():
        if k["over_cutoff"]:
            lines.append(
                f"warning: {k['over_cutoff']} {kind} samples are longer than cutoff_len {report['cutoff_len']}: "
                "LLaMA-Factory will cut their end in training"
            )
    return lines


def slice_lines(report: dict) -> list[str]:
    """The slice budget, the largest slice, the tables split into parts and the families folded."""
    lay = report.get("layout")
    if not lay:
        return []
    lines = []
    budget = lay.get("tokens_per_slice")
    lines.append(
        f"slice budget: {budget if budget else 'none (table count only)'} tokens; largest slice "
        f"{lay['largest_slice_tokens']} tokens ({lay['largest_slice']})"
    )
    split = lay.get("split_tables") or []
    if split:
        shown = ", ".join(f"{t['table']} ({t['columns']} columns, {t['parts']} parts)" for t in split[:10])
        more = f" and {len(split) - 10} more" if len(split) > 10 else ""
        lines.append(f"tables wider than a slice, split into column parts: {len(split)}: {shown}{more}")
    fams = lay.get("families") or []
    if fams:
        shown = ", ".join(f"{f['family']} ({f['members']} tables, {f['first']} ... {f['last']})" for f in fams[:10])
        more = f" and {len(fams) - 10} more" if len(fams) > 10 else ""
        lines.append(f"table families folded: {len(fams)} ({sum(f['members'] for f in fams)} tables): {shown}{more}")
    return lines


def _layout_lines(report: dict) -> list[str]:
    """Pseudo-databases, name collisions, where gold tables sit among the slices, and the None share."""
    lines = source_lines(report) + slice_lines(report)
    if "merged" in report:
        m = report["merged"]
        lines.append(
            f"pseudo-databases: {m['pseudo_databases']} ({m['with_questions']} with questions), {m['databases']} databases, "
            f"{m['tables']} tables, {m['renamed_tables']} renamed to <db_id>__<table>"
        )
        if m.get("held_out_spread"):
            lines.append(f"  {m['held_out_spread']} held-out databases (Spider's dev split) spread evenly over the pseudo-databases and slice positions")
        for p in m["each"][:20]:
            lines.append(f"  {p['name']}: {p['members']} databases, {p['tables']} tables, {p['slices']} slices")
        for name, names in m["collisions"].items():
            shown = ", ".join(f"{n} ({', '.join(ds)})" for n, ds in list(names.items())[:8])
            more = f" and {len(names) - 8} more" if len(names) > 8 else ""
            lines.append(f"  names in several members of {name}: {shown}{more}")
    if report.get("outside_pseudo_database"):
        outside = report["outside_pseudo_database"]
        lines.append(f"skipped {sum(outside.values())} questions on databases outside the pseudo-database: "
                     + ", ".join(f"{d} ({n})" for d, n in outside.items()))
    positions = report.get("gold_slice_positions")
    if positions:
        for which in ("canonical", "all_slicings"):
            lines.append(f"gold tables by tenth of slice position ({which.replace('_', ' ')}): "
                         + " ".join(str(n) for n in positions[which]))
        empty = [str(i + 1) for i, n in enumerate(positions["all_slicings"]) if n == 0]
        if "merged" in report and empty and any(positions["all_slicings"]):
            lines.append(
                f"note: no gold table in tenth{'s' if len(empty) > 1 else ''} {', '.join(empty)} of the slice "
                "positions over all slicings; every schema-link sample there answers None, so a model can learn "
                "the position instead of reading the schema: --orders N adds seeded member orders that move the "
                "gold tables"
            )
    if report.get("schema_link_none_share") is not None:
        lines.append(f"schema-link samples answering None: {report['schema_link_none_share']:.1%}")
    return lines


def format_convert_markdown(report: dict) -> str:
    """report.md: the printed table as Markdown, with the chart beside it."""
    lines = [
        "# lrsql-convert report",
        "",
        f"- source: {report['source']}; {report['converted']} of {report['questions']} questions converted, "
        f"{report['skipped']} skipped",
        f"- token counts: {report['token_count']}",
        f"- cutoff_len: {report['cutoff_len']}",
        f"- schema-link slice prompts: {report.get('prompt_layout', 'question-first')} (full-schema prompts: question-first)",
        "",
        "| dataset | samples | prompt p50 | prompt p95 | prompt max | total max | over cutoff |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind, k in report["kinds"].items():
        p = k["prompt_tokens"]
        lines.append(
            f"| {kind} | {k['samples']} | {p['p50']} | {p['p95']} | {p['max']} | {k['total_tokens']['max']} | {k['over_cutoff']} |"
        )
    red = report["schema_link_vs_full_schema"]
    if red["max_reduction"] is not None:
        lines += ["", f"Schema-link prompts against the full schema: the longest is {red['max_reduction']:.1%} "
                      f"shorter, the p95 {red['p95_reduction']:.1%} shorter."]
    layout = _layout_lines(report)
    if layout:
        lines += ["", "## Slices and pseudo-databases", ""] + [f"- {line}" for line in layout if line]
    plan = plan_lines(report)
    if plan:
        lines += ["", "## Training cost", ""] + [f"- {line.strip()}" for line in plan]
    lines += ["", f"![prompt lengths]({LENGTH_CHART})", ""]
    if report["skipped_records"]:
        lines += ["## Skipped", ""] + [f"- {where(s['file'], s['record'])}: {s['reason']}" for s in report["skipped_records"]]
    return "\n".join(lines) + "\n"


LENGTH_CHART = "prompt_lengths.png"


def render_length_chart(report: dict) -> bytes:
    """A PNG of prompt-length p50 / p95 / max per dataset, with the cutoff_len line."""
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    kinds = [k for k, v in report["kinds"].items() if v["samples"]]
    fig = Figure(figsize=(8, 4))
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    width = 0.27
    for i, (stat, color) in enumerate((("p50", "#4c72b0"), ("p95", "#55a868"), ("max", "#c44e52"))):
        values = [report["kinds"][k]["prompt_tokens"][stat] for k in kinds]
        bars = ax.bar([x + (i - 1) * width for x in range(len(kinds))], values, width, label=stat, color=color)
        ax.bar_label(bars, fontsize=7)
    ax.axhline(report["cutoff_len"], color="gray", linestyle="--", linewidth=1, label=f"cutoff_len {report['cutoff_len']}")
    ax.set_xticks(range(len(kinds)), kinds)
    ax.set_ylabel("prompt tokens")
    ax.set_title("Prompt length: LR-SQL (schema_link, sql_generation) vs full schema")
    ax.legend(fontsize=8)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
    return buffer.getvalue()
