"""Write an evaluation's outputs: metrics.json, per_example.jsonl, report.md and a PNG chart of EX by bucket.

Reports hide nothing: how many questions fell back to the full schema, every gold query that fails
(with a count per reason), every question left out for a missing database, and every gold query
without an EM verdict.  With EM, the official script's printed layout (counts, EX, EM and the
partial scores per hardness level) is printed and kept in report.md beside our own table.

Every file is written to a temporary file in the output folder and then renamed over the target,
so a reader never sees a half-written file.
"""

from __future__ import annotations

import io
import json
import re
import sqlite3
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

from lrsql_plugin import __version__
from lrsql_plugin.errors import where
from lrsql_plugin.evaluation.evaluate import NOT_RUN, OUTCOMES, BucketScore, EvalResult, ExampleResult
from lrsql_plugin.evaluation.exact_match import PARTIAL_TYPES
from lrsql_plugin.evaluation.hardness import HARDNESS_LEVELS
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
    return {"ex": score.ex, "total": score.total, "scored": score.scored, **score.counts,
            "em": score.em, "em_scored": score.em_scored, "em_match": score.em_match}


def error_kind(message: str) -> str:
    """The reason of a failing query without its particulars: "no such column: T1.x (on a.sqlite)" -> "no such column"."""
    text = re.sub(r" \(on [^()]*\)$", "", message).strip()
    if text.startswith("timeout"):
        return "timeout"
    if "syntax error" in text:
        return "syntax error"
    if "more than" in text and "max_rows" in text:
        return "too many rows (max_rows)"
    return text.split(":", 1)[0].strip() or "unknown"


def gold_error_reasons(result: EvalResult) -> dict[str, int]:
    """Count of failing gold queries per reason, most frequent first."""
    return dict(Counter(error_kind(e.message) for e in result.gold_errors).most_common())


def fallback_stats(result: EvalResult) -> dict[str, object]:
    """How many questions the SQL model answered from the full schema because nothing was linked."""
    recorded = [e.item.fallback for e in result.examples if e.item.fallback is not None]
    count = sum(recorded)
    return {"recorded": len(recorded), "count": count, "rate": count / len(recorded) if recorded else None}


def settings_dict(result: EvalResult, flags: Mapping[str, object] | None = None) -> dict[str, object]:
    """Everything a published number depends on: semantics, flags, timeout, row cap, databases."""
    s = result.settings
    return {
        "etype": s.etype,
        "plug_value": s.plug_value,
        "skip_missing_db": s.skip_missing_db,
        "allow_gold_errors": s.allow_gold_errors,
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
        "em": result.overall.em,
        "overall": _bucket_dict(result.overall),
        "bucket_kind": result.bucket_kind,
        "buckets": {name: _bucket_dict(score) for name, score in result.buckets().items()},
        "fallback": fallback_stats(result),
        "gold_error_count": len(result.gold_errors),
        "gold_error_rate": result.gold_error_rate,
        "gold_error_reasons": gold_error_reasons(result),
        "gold_errors": [
            {"index": e.index, "db_id": e.item.db_id, "record": _location(e.item), "message": e.message}
            for e in result.gold_errors
        ],
        "em_gold_errors": [
            {"index": e.index, "db_id": e.item.db_id, "record": _location(e.item), "message": e.exact_error}
            for e in result.em_gold_errors
        ],
        "skipped_missing_db": {
            "questions": result.skipped_count,
            "db_ids": {db_id: len(items) for db_id, items in sorted(result.skipped_missing.items())},
        },
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
            "match": e.match if e.outcome != NOT_RUN else None,
            "reason": e.reason,
            "exact_match": e.exact_match,
            "exact_match_reason": e.exact.reason if e.exact is not None else (
                f"gold has no EM verdict: {e.exact_error}" if e.exact_error else None),
            "hardness": e.hardness,
            "difficulty": item.difficulty or None,
            "question": item.question,
            "gold": item.gold,
            "prediction": item.prediction,
            "record": _location(item),
        }
        if item.fallback is not None:
            rec["fallback"] = item.fallback
        if item.predicted_tables is not None:
            rec["predicted_tables"] = list(item.predicted_tables)
            rec["gold_tables"] = None if item.gold_tables is None else list(item.gold_tables)
        records.append(rec)
    return records


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}"


def summary_table(result: EvalResult) -> str:
    """A fixed-width table of EX (and EM when computed) per bucket and overall, with the outcome counts."""
    rows = [(name, score) for name, score in result.buckets().items()] + [("all", result.overall)]
    s = result.settings
    outcomes = OUTCOMES if s.computes_ex else ()
    columns = ("count", *(("scored", "EX %") if s.computes_ex else ()), *(("EM %",) if s.computes_em else ()),
               *(o.replace("prediction_error", "pred_error") for o in outcomes))
    lines = [f"{result.bucket_kind:<12}" + "".join(f"{c:>11}" for c in columns)]
    lines.append("-" * len(lines[0]))
    for name, score in rows:
        cells = (score.total, *((score.scored, _percent(score.ex)) if s.computes_ex else ()),
                 *((_percent(score.em),) if s.computes_em else ()), *(score.counts[o] for o in outcomes))
        lines.append(f"{name:<12}" + "".join(f"{c:>11}" for c in cells))
    return "\n".join(lines)


def _row(name: str, values: list, fmt: str) -> str:
    return f"{name:20} " + " ".join(format(v, fmt) for v in values)


def official_table(result: EvalResult) -> str:
    """The official script's printed layout: counts, then execution and/or exact-match accuracy and the
    partial-matching accuracy, recall and F1 per hardness level (easy, medium, hard, extra, all).

    As there, a level's EX and EM are fractions of its count; here the count excludes the questions
    whose gold query fails (EX) or has no EM verdict (EM), and the lines below the table say how many.
    """
    s = result.settings
    levels = [*HARDNESS_LEVELS, "all"]
    groups: dict[str, list[ExampleResult]] = {level: [] for level in levels}
    for e in result.examples:
        if e.hardness in groups:
            groups[e.hardness].append(e)
        groups["all"].append(e)
    scores = {level: BucketScore.of(groups[level]) for level in levels}
    lines = [_row("", levels, "20"), _row("count", [scores[lv].total for lv in levels], "<20d")]
    if s.computes_ex:
        lines.append("=====================   EXECUTION ACCURACY     =====================")
        lines.append(_row("execution", [scores[lv].ex or 0.0 for lv in levels], "<20.3f"))
    if s.computes_em:
        lines += ["", "====================== EXACT MATCHING ACCURACY ====================="]
        lines.append(_row("exact match", [scores[lv].em or 0.0 for lv in levels], "<20.3f"))
        partial = {level: _partial_scores(groups[level]) for level in levels}
        for title, key in (("\n---------------------PARTIAL MATCHING ACCURACY----------------------", "acc"),
                           ("---------------------- PARTIAL MATCHING RECALL ----------------------", "rec"),
                           ("---------------------- PARTIAL MATCHING F1 --------------------------", "f1")):
            lines.append(title)
            for kind in PARTIAL_TYPES:
                lines.append(_row(kind, [partial[lv][kind][key] for lv in levels], "<20.3f"))
    notes = []
    if s.computes_ex and result.gold_errors:
        notes.append(f"execution: {len(result.gold_errors)} question(s) with a failing gold query are not counted")
    if s.computes_em and result.em_gold_errors:
        notes.append(f"exact match: {len(result.em_gold_errors)} gold quer(ies) outside the official grammar are not counted")
    unknown = sum(e.hardness not in HARDNESS_LEVELS for e in result.examples)
    if unknown:
        notes.append(f"{unknown} question(s) without a hardness level count in 'all' only")
    return "\n".join(lines + [f"note: {n}" for n in notes])


def _partial_scores(examples: list[ExampleResult]) -> dict[str, dict[str, float]]:
    """Per partial type: accuracy over the items whose prediction has the component, recall over those
    whose gold has it, and their harmonic mean (1 when both are 0), as the official script averages them."""
    out = {}
    for kind in PARTIAL_TYPES:
        acc = [float(_one(*e.exact.partial[kind])) for e in examples if e.exact and e.exact.partial[kind][1] > 0]
        rec = [float(_one(*e.exact.partial[kind])) for e in examples if e.exact and e.exact.partial[kind][0] > 0]
        a = sum(acc) / len(acc) if acc else 0.0
        r = sum(rec) / len(rec) if rec else 0.0
        out[kind] = {"acc": a, "rec": r, "f1": 1.0 if a == 0 and r == 0 else 2 * a * r / (a + r)}
    return out


def _one(label_total: int, pred_total: int, count: int) -> bool:
    return label_total == pred_total == count


def render_markdown(result: EvalResult, flags: Mapping[str, object] | None = None, chart: str | None = "ex_by_bucket.png") -> str:
    """report.md: headline, settings, EX by bucket, gold errors, linking metrics, databases."""
    s = settings_dict(result, flags)
    overall = result.overall
    gold_errors = result.gold_errors
    headline = []
    if result.settings.computes_ex:
        headline.append(
            f"**EX {_percent(overall.ex)}%** — {overall.counts['match']} of {overall.scored} scored questions "
            f"({overall.total} evaluated; {len(gold_errors)} with a failing gold query excluded)."
        )
    if result.settings.computes_em:
        headline.append(
            f"**EM {_percent(overall.em)}%** — {overall.em_match} of {overall.em_scored} questions "
            f"({len(result.em_gold_errors)} gold queries outside the official grammar excluded)."
        )
    fb = fallback_stats(result)
    if fb["recorded"]:
        headline.append(
            f"**Full-schema fallback: {fb['count']} of {fb['recorded']} questions ({_percent(fb['rate'])}%)** "
            "linked no table, so the SQL model saw the whole schema."
        )
    else:
        headline.append("Full-schema fallback: not recorded in the input (predictions without a `fallback` field).")
    if result.skipped_missing:
        headline.append(
            f"**{result.skipped_count} question(s) left out** (--skip-missing-db): no database for "
            + ", ".join(f"{d} ({len(v)})" for d, v in sorted(result.skipped_missing.items())) + "."
        )
    out = [
        "# lrsql-eval report",
        "",
        *[line for h in headline for line in (h, "")],
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
    what = " and ".join(m for m, on in (("EX", result.settings.computes_ex), ("EM", result.settings.computes_em)) if on)
    out += ["", f"## {what} by {result.bucket_kind}", "", "```", summary_table(result), "```", ""]
    if result.settings.semantics == "spider":
        out += ["## Official layout", "", "```", official_table(result), "```", ""]
    if chart:
        out += [f"![EX by {result.bucket_kind}]({chart})", ""]
    if gold_errors:
        out += [f"## Gold queries that fail (excluded from EX): {len(gold_errors)} of {overall.total} "
                f"({_percent(result.gold_error_rate)}%)", "", "| reason | count |", "|---|---|"]
        out += [f"| {reason} | {count} |" for reason, count in gold_error_reasons(result).items()]
        out.append("")
        out += [f"- index {e.index} ({e.item.db_id}; {_location(e.item)}): {e.message}" for e in gold_errors]
        out.append("")
    if result.em_gold_errors:
        out += ["## Gold queries without an EM verdict (outside the official grammar; excluded from EM)", ""]
        out += [f"- index {e.index} ({e.item.db_id}; {_location(e.item)}): {e.exact_error}" for e in result.em_gold_errors]
        out.append("")
    if result.skipped_missing:
        out += ["## Questions left out: database missing (--skip-missing-db)", ""]
        for db_id, items in sorted(result.skipped_missing.items()):
            out.append(f"- {db_id}: {len(items)} question(s), first at {_location(items[0])}")
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


def write_report(
    result: EvalResult,
    out_dir: str | Path,
    flags: Mapping[str, object] | None = None,
    extra_metrics: Mapping[str, object] | None = None,
    extra_markdown: Sequence[str] = (),
) -> dict[str, Path]:
    """Write the four output files into ``out_dir`` (created if needed); returns their paths by name.

    ``extra_metrics`` are added to metrics.json and ``extra_markdown`` lines to the end of report.md
    (inference adds the linking summary of a pseudo-database there)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / name for name in OUTPUT_FILES}
    metrics = json.dumps({**metrics_dict(result, flags), **(extra_metrics or {})}, indent=2, ensure_ascii=False) + "\n"
    per_example = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in example_records(result))
    chart = render_chart(result)
    atomic_write_text(paths["metrics.json"], metrics)
    atomic_write_text(paths["per_example.jsonl"], per_example)
    markdown = render_markdown(result, flags, chart=paths["ex_by_bucket.png"].name)
    atomic_write_text(paths["report.md"], markdown + "".join(line + "\n" for line in extra_markdown))
    atomic_write_bytes(paths["ex_by_bucket.png"], chart)
    return paths
