"""Write an evaluation's outputs: metrics.json, per_example.jsonl, report.md and a PNG chart of EX by bucket.

Every file is written to a temporary file in the output folder and then renamed over the target,
so a reader never sees a half-written file.
"""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Mapping
from pathlib import Path

from lrsql_plugin import __version__
from lrsql_plugin.errors import where
from lrsql_plugin.evaluation.evaluate import OUTCOMES, BucketScore, EvalResult
from lrsql_plugin.evaluation.inputs import EvalItem
from lrsql_plugin.files import atomic_write_bytes, atomic_write_text

OUTPUT_FILES = ("metrics.json", "per_example.jsonl", "report.md", "ex_by_bucket.png")


def _location(item: EvalItem) -> str | None:
    """Where the item came from, worded as InputError words it: "gold.txt, line 3", "dev.json, record 4"."""
    if not item.record:
        return item.source or None
    return where(item.source, item.record)


def _database_files(result: EvalResult) -> dict[str, list[dict[str, object]]]:
    """Per db_id, each .sqlite file used (relative to the database folder) and its size."""
    def describe(path: Path) -> dict[str, object]:
        name = path.relative_to(result.db_root) if path.is_relative_to(result.db_root) else path
        return {"file": str(name), "bytes": path.stat().st_size}

    return {db_id: [describe(p) for p in paths] for db_id, paths in sorted(result.databases.items())}


def _bucket_dict(score: BucketScore) -> dict[str, object]:
    return {"ex": score.ex, "total": score.total, "scored": score.scored, **score.counts}


def settings_dict(result: EvalResult, flags: Mapping[str, object] | None = None) -> dict[str, object]:
    """Everything a published number depends on: semantics, flags, timeout, row cap, databases."""
    s = result.settings
    return {
        "semantics": s.semantics,
        "keep_distinct": s.keep_distinct,
        "distinct_removed": s.removes_distinct,
        "row_order": "compared only when the gold query contains ORDER BY" if s.semantics == "spider" else "ignored (sets)",
        "timeout_seconds": s.timeout,
        "max_rows": s.max_rows,
        "workers": s.workers,
        "flags": dict(flags) if flags else None,
        "db_root": str(result.db_root),
        "databases": _database_files(result),
        "sqlite_version": sqlite3.sqlite_version,
        "lrsql_version": __version__,
    }


def metrics_dict(result: EvalResult, flags: Mapping[str, object] | None = None) -> dict[str, object]:
    """The content of metrics.json."""
    linking = result.linking
    return {
        "ex": result.ex,
        "overall": _bucket_dict(result.overall),
        "bucket_kind": result.bucket_kind,
        "buckets": {name: _bucket_dict(score) for name, score in result.buckets().items()},
        "gold_errors": [
            {"index": e.index, "db_id": e.item.db_id, "record": _location(e.item), "message": e.message}
            for e in result.gold_errors
        ],
        "linking": None if linking is None else {**linking.__dict__, "skipped_no_gold_tables": result.linking_skipped},
        "seconds": round(result.seconds, 3),
        "settings": settings_dict(result, flags),
    }


def example_records(result: EvalResult) -> list[dict[str, object]]:
    """One record per input item, in input order."""
    records = []
    for e in result.examples:
        item = e.item
        rec: dict[str, object] = {
            "index": e.index,
            "db_id": item.db_id,
            "match": e.match,
            "reason": e.reason,
            "hardness": e.hardness,
            "difficulty": item.difficulty or None,
            "question": item.question,
            "gold": item.gold,
            "prediction": item.prediction,
            "record": _location(item),
        }
        if item.predicted_tables is not None:
            rec["predicted_tables"] = list(item.predicted_tables)
            rec["gold_tables"] = None if item.gold_tables is None else list(item.gold_tables)
        records.append(rec)
    return records


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}"


def summary_table(result: EvalResult) -> str:
    """A fixed-width table of EX per bucket and overall, with the outcome counts."""
    rows = [(name, score) for name, score in result.buckets().items()] + [("all", result.overall)]
    columns = ("count", "scored", "EX %", *(o.replace("prediction_error", "pred_error") for o in OUTCOMES))
    lines = [f"{result.bucket_kind:<12}" + "".join(f"{c:>11}" for c in columns)]
    lines.append("-" * len(lines[0]))
    for name, score in rows:
        cells = (score.total, score.scored, _percent(score.ex), *(score.counts[o] for o in OUTCOMES))
        lines.append(f"{name:<12}" + "".join(f"{c:>11}" for c in cells))
    return "\n".join(lines)


def render_markdown(result: EvalResult, flags: Mapping[str, object] | None = None, chart: str | None = "ex_by_bucket.png") -> str:
    """report.md: headline, settings, EX by bucket, gold errors, linking metrics, databases."""
    s = settings_dict(result, flags)
    overall = result.overall
    gold_errors = result.gold_errors
    out = [
        "# lrsql-eval report",
        "",
        f"**EX {_percent(overall.ex)}%** — {overall.counts['match']} of {overall.scored} scored questions "
        f"({overall.total} in the input; {len(gold_errors)} with a failing gold query excluded).",
        "",
        "## Settings",
        "",
        "| setting | value |",
        "|---|---|",
    ]
    for key in ("semantics", "keep_distinct", "distinct_removed", "row_order", "timeout_seconds", "max_rows",
                "workers", "db_root", "sqlite_version", "lrsql_version"):
        out.append(f"| {key} | {s[key]} |")
    if flags:
        out.append(f"| flags | `{json.dumps(dict(flags), ensure_ascii=False)}` |")
    out += ["", f"## EX by {result.bucket_kind}", "", "```", summary_table(result), "```", ""]
    if chart:
        out += [f"![EX by {result.bucket_kind}]({chart})", ""]
    if gold_errors:
        out += ["## Gold queries that fail (excluded from EX)", ""]
        out += [f"- index {e.index} ({e.item.db_id}; {_location(e.item)}): {e.message}" for e in gold_errors]
        out.append("")
    if result.linking is not None:
        link = result.linking
        out += [
            "## Schema linking",
            "",
            f"Over {link.count} questions with predicted tables ({result.linking_skipped} left out: gold tables unknown).",
            "",
            "| exact set | recall-1 (all gold kept) | avg precision | avg recall |",
            "|---|---|---|---|",
            f"| {_percent(link.exact_set_accuracy)}% | {_percent(link.recall1_rate)}% | "
            f"{_percent(link.avg_precision)}% | {_percent(link.avg_recall)}% |",
            "",
        ]
    out += ["## Databases", ""]
    for db_id, files in _database_files(result).items():
        out.append(f"- {db_id}: " + ", ".join(f"{f['file']} ({f['bytes']} bytes)" for f in files))
    return "\n".join(out) + "\n"


def render_chart(result: EvalResult) -> bytes:
    """A PNG bar chart of EX per bucket and overall (matplotlib's Agg canvas, imported only here)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = [(name, score) for name, score in result.buckets().items()] + [("all", result.overall)]
    fig = Figure(figsize=(1.4 * len(rows) + 2, 4))
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    values = [100 * (score.ex or 0.0) for _, score in rows]
    bars = ax.bar([name for name, _ in rows], values, color=["#4c72b0"] * (len(rows) - 1) + ["#dd8452"])
    for bar, (_, score) in zip(bars, rows):
        ax.annotate(f"{_percent(score.ex)}\nn={score.scored}", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center", va="bottom", fontsize=8)
    ax.set_ylim(0, 115)
    ax.set_ylabel("EX (%)")
    ax.set_title(f"EX by {result.bucket_kind} ({result.settings.semantics} semantics)")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return buffer.getvalue()


def write_report(result: EvalResult, out_dir: str | Path, flags: Mapping[str, object] | None = None) -> dict[str, Path]:
    """Write the four output files into ``out_dir`` (created if needed); returns their paths by name."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / name for name in OUTPUT_FILES}
    metrics = json.dumps(metrics_dict(result, flags), indent=2, ensure_ascii=False) + "\n"
    per_example = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in example_records(result))
    chart = render_chart(result)
    atomic_write_text(paths["metrics.json"], metrics)
    atomic_write_text(paths["per_example.jsonl"], per_example)
    atomic_write_text(paths["report.md"], render_markdown(result, flags, chart=paths["ex_by_bucket.png"].name))
    atomic_write_bytes(paths["ex_by_bucket.png"], chart)
    return paths
