"""Schema-linking results of stage 1 alone (``lrsql-eval --link-only``), and the pseudo-database summary.

Linking is scored in the names of the schema the model linked against: merged names in a
pseudo-database, where a linked table of another member database is a false positive (and is
dropped before SQL generation).  ``metrics.json``, ``per_example.jsonl``, ``report.md`` and
``linking.png`` are written atomically.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from lrsql_plugin.evaluation.linking import linking_scores
from lrsql_plugin.files import atomic_write_bytes, atomic_write_text

LINK_OUTPUT_FILES = ("metrics.json", "per_example.jsonl", "report.md", "linking.png")


def predicted_link_tables(record: Mapping) -> list[str]:
    """The tables a prediction record linked, in the link schema's names."""
    tables = record.get("link_schema_tables")
    return list(tables if tables is not None else record.get("linked_tables") or [])


def other_member_tables(record: Mapping) -> list[str]:
    """Linked tables of other member databases (merged mode): dropped before stage 2, false positives."""
    return list(record.get("other_member_tables") or [])


def linking_summary(records: Sequence[Mapping], gold: Mapping[int, Sequence[str] | None]) -> dict:
    """Linking scores over the records whose gold tables are known, plus the merged-mode counts."""
    pairs = [(predicted_link_tables(r), gold[r["index"]]) for r in records if gold.get(r["index"]) is not None]
    scores = linking_scores(pairs)
    dropped = [len(other_member_tables(r)) for r in records]
    return {
        "questions": len(records),
        "scored": len(pairs),
        "no_gold_tables": len(records) - len(pairs),
        "exact_set_accuracy": scores.exact_set_accuracy if scores else None,
        "recall1_rate": scores.recall1_rate if scores else None,
        "avg_precision": scores.avg_precision if scores else None,
        "avg_recall": scores.avg_recall if scores else None,
        "nothing_linked": sum(not predicted_link_tables(r) for r in records),
        "other_member_tables_dropped": sum(dropped),
        "questions_with_other_member_tables": sum(n > 0 for n in dropped),
    }


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.2f}%"


def format_linking(summary: Mapping) -> list[str]:
    """Markdown table rows of a linking summary."""
    rows = [
        "| metric | value |",
        "|---|---|",
        f"| questions scored | {summary['scored']} of {summary['questions']} |",
        f"| exact set | {_pct(summary['exact_set_accuracy'])} |",
        f"| all gold tables kept (recall-1) | {_pct(summary['recall1_rate'])} |",
        f"| average precision | {_pct(summary['avg_precision'])} |",
        f"| average recall | {_pct(summary['avg_recall'])} |",
        f"| questions with nothing linked | {summary['nothing_linked']} |",
    ]
    if summary["other_member_tables_dropped"] or summary.get("merged"):
        rows.append(
            f"| tables of other member databases linked (false positives, dropped before SQL) | "
            f"{summary['other_member_tables_dropped']} in {summary['questions_with_other_member_tables']} questions |"
        )
    return rows


def write_link_report(
    out_dir: str | Path,
    records: Sequence[Mapping],
    gold: Mapping[int, Sequence[str] | None],
    settings: Mapping[str, object],
) -> dict[str, Path]:
    """The outputs of ``--link-only``; returns their paths by name."""
    out = Path(out_dir)
    summary = {**linking_summary(records, gold), "merged": any(r.get("link_schema_tables") is not None for r in records)}
    per_example = []
    for r in records:
        g = gold.get(r["index"])
        p = predicted_link_tables(r)
        per_example.append({
            "index": r["index"], "db_id": r["db_id"], "question": r["question"], "link_schema": r.get("link_schema"),
            "predicted_tables": p, "gold_tables": None if g is None else list(g),
            "exact_set": None if g is None else {t.lower() for t in p} == {t.lower() for t in g},
            "other_member_tables": other_member_tables(r),
        })
    paths = {name: out / name for name in LINK_OUTPUT_FILES}
    metrics = {"linking": summary, "settings": dict(settings)}
    atomic_write_text(paths["metrics.json"], json.dumps(metrics, indent=2, ensure_ascii=False) + "\n")
    atomic_write_text(paths["per_example.jsonl"], "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in per_example))
    mode = "full schema (one prompt per question)" if settings.get("full_schema_link") else "sliced (LR-SQL)"
    md = [
        "# lrsql-eval: schema linking only",
        "",
        f"- link prompts: {mode}",
        f"- link schema: {'pseudo-database (merged names)' if summary['merged'] else 'each question database'}",
        f"- settings: `{json.dumps(dict(settings), ensure_ascii=False, default=str)}`",
        "",
        *format_linking(summary),
        "",
        f"![linking]({paths['linking.png'].name})",
        "",
    ]
    atomic_write_text(paths["report.md"], "\n".join(md))
    atomic_write_bytes(paths["linking.png"], render_linking_chart(summary, mode))
    return paths


def render_linking_chart(summary: Mapping, title: str) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    names = ["exact set", "recall-1", "avg precision", "avg recall"]
    keys = ["exact_set_accuracy", "recall1_rate", "avg_precision", "avg_recall"]
    values = [100 * (summary[k] or 0.0) for k in keys]
    fig = Figure(figsize=(6, 3.5))
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    bars = ax.bar(names, values, color=["#4c72b0", "#55a868", "#c44e52", "#8172b2"])
    ax.bar_label(bars, fmt="%.1f", fontsize=8)
    ax.set_ylim(0, 105)
    ax.set_ylabel("%")
    ax.set_title(f"Schema linking, {title}: {summary['scored']} questions", fontsize=9)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
    return buffer.getvalue()
