"""Schema-linking results of stage 1 alone (``lrsql-eval --link-only``), and the pseudo-database summary.

Linking is scored in the names of the schema the model linked against: merged names in a
pseudo-database, where a linked table of another member database is a false positive (and is
dropped before SQL generation).  ``metrics.json``, ``per_example.jsonl``, ``report.md`` and
``linking.png`` are written atomically.

A record that carries a ``ranking`` (every table, best first: the BM25 linker) is also scored by
recall@5/10/20.  Where the questions come from several engines (Spider 2.0: BigQuery, Snowflake,
SQLite), the report breaks the metrics down by engine and the chart shows recall@k per engine.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from lrsql_plugin.evaluation.linking import RECALL_AT, linking_scores, mean_recall_at
from lrsql_plugin.files import atomic_write_bytes, atomic_write_text

LINK_OUTPUT_FILES = ("metrics.json", "per_example.jsonl", "report.md", "linking.png")


def predicted_link_tables(record: Mapping) -> list[str]:
    """The tables a prediction record linked, in the link schema's names (families folded outside merged mode)."""
    tables = record.get("link_schema_tables")
    if tables is None:
        tables = record.get("linked_folded")
    return list(tables if tables is not None else record.get("linked_tables") or [])


def other_member_tables(record: Mapping) -> list[str]:
    """Linked tables of other member databases (merged mode): dropped before stage 2, false positives."""
    return list(record.get("other_member_tables") or [])


def ranking_of(record: Mapping) -> list[str] | None:
    """The record's table ranking (names, best first), or None when its linker does not rank."""
    ranking = record.get("ranking")
    if ranking is None:
        return None
    return [e[0] if isinstance(e, (list, tuple)) else e for e in ranking]


def linking_summary(records: Sequence[Mapping], gold: Mapping[int, Sequence[str] | None]) -> dict:
    """Linking scores over the records whose gold tables are known, plus the merged-mode counts;
    ``recall_at_k`` (``{"5": .., "10": .., "20": ..}``) when the records carry a ranking."""
    pairs = [(predicted_link_tables(r), gold[r["index"]]) for r in records if gold.get(r["index"]) is not None]
    scores = linking_scores(pairs)
    dropped = [len(other_member_tables(r)) for r in records]
    ranked = any(ranking_of(r) is not None for r in records)
    recall_at = {} if not ranked else {"recall_at_k": mean_recall_at(
        (ranking_of(r) or [], gold[r["index"]]) for r in records if gold.get(r["index"]) is not None
    )}
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
        **recall_at,
    }


def linking_by_group(
    records: Sequence[Mapping], gold: Mapping[int, Sequence[str] | None], group_of: Mapping[int, str]
) -> dict[str, dict]:
    """``linking_summary`` per group (engine) of the records, groups sorted by name."""
    groups: dict[str, list[Mapping]] = {}
    for r in records:
        groups.setdefault(group_of.get(r["index"], "unknown"), []).append(r)
    return {g: linking_summary(rs, gold) for g, rs in sorted(groups.items())}


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
    for k in RECALL_AT if summary.get("recall_at_k") else ():
        rows.insert(-1, f"| recall@{k} (gold tables among the ranking's first {k}) | {_pct(summary['recall_at_k'][str(k)])} |")
    if summary["other_member_tables_dropped"] or summary.get("merged"):
        rows.append(
            f"| tables of other member databases linked (false positives, dropped before SQL) | "
            f"{summary['other_member_tables_dropped']} in {summary['questions_with_other_member_tables']} questions |"
        )
    return rows


def format_by_group(by_group: Mapping[str, Mapping], label: str = "engine") -> list[str]:
    """Markdown table of the linking metrics per group (one row per engine)."""
    ranked = any(v.get("recall_at_k") for v in by_group.values())
    head = [label, "questions scored", "exact set", "recall-1", "avg precision", "avg recall"]
    head += [f"recall@{k}" for k in RECALL_AT] if ranked else []
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, v in by_group.items():
        cells = [name, f"{v['scored']} of {v['questions']}", *(_pct(v[k]) for k in
                 ("exact_set_accuracy", "recall1_rate", "avg_precision", "avg_recall"))]
        if ranked:
            cells += [_pct((v.get("recall_at_k") or {}).get(str(k))) for k in RECALL_AT]
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def write_link_report(
    out_dir: str | Path,
    records: Sequence[Mapping],
    gold: Mapping[int, Sequence[str] | None],
    settings: Mapping[str, object],
    group_of: Mapping[int, str] | None = None,
    notes: Sequence[str] = (),
) -> dict[str, Path]:
    """The outputs of ``--link-only``; returns their paths by name.  ``group_of`` (question index ->
    engine) adds the breakdown by engine; ``notes`` are report lines about the source."""
    out = Path(out_dir)
    summary = {**linking_summary(records, gold), "merged": any(r.get("link_schema_tables") is not None for r in records)}
    by_group = linking_by_group(records, gold, group_of) if group_of else None
    if by_group is not None:
        summary["by_engine"] = by_group
    per_example = []
    for r in records:
        g = gold.get(r["index"])
        p = predicted_link_tables(r)
        row = {
            "index": r["index"], "db_id": r["db_id"], "question": r["question"], "link_schema": r.get("link_schema"),
            "predicted_tables": p, "gold_tables": None if g is None else list(g),
            "exact_set": None if g is None else {t.lower() for t in p} == {t.lower() for t in g},
            "other_member_tables": other_member_tables(r),
        }
        if group_of:
            row["engine"] = group_of.get(r["index"], "unknown")
        ranking = ranking_of(r)
        if ranking is not None and g is not None:
            position = {t.lower(): n for n, t in enumerate(ranking, 1)}
            row["gold_ranks"] = [position.get(t.lower()) for t in g]  # 1-based; None: not in the schema
        per_example.append(row)
    paths = {name: out / name for name in LINK_OUTPUT_FILES}
    metrics = {"linking": summary, "settings": dict(settings)}
    atomic_write_text(paths["metrics.json"], json.dumps(metrics, indent=2, ensure_ascii=False) + "\n")
    atomic_write_text(paths["per_example.jsonl"], "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in per_example))
    if settings.get("linker") == "bm25":
        mode = f"BM25 top {settings.get('top_k')} (lexical baseline, no model)"
    elif settings.get("full_schema_link"):
        mode = "full schema (one prompt per question)"
    else:
        mode = "sliced (LR-SQL)"
    md = [
        "# lrsql-eval: schema linking only",
        "",
        f"- linker: {mode}",
        f"- link schema: {'pseudo-database (merged names)' if summary['merged'] else 'each question database'}",
        *(f"- {n}" for n in notes),
        f"- settings: `{json.dumps(dict(settings), ensure_ascii=False, default=str)}`",
        "",
        *format_linking(summary),
        "",
    ]
    if by_group is not None:
        md += ["## By engine", "", *format_by_group(by_group), ""]
    md += [f"![linking]({paths['linking.png'].name})", ""]
    atomic_write_text(paths["report.md"], "\n".join(md))
    atomic_write_bytes(paths["linking.png"], render_linking_chart(summary, mode))
    return paths


def render_linking_chart(summary: Mapping, title: str) -> bytes:
    """Bars of the four set metrics; with a ranking, recall@k bars per engine (and overall) instead."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 3.5))
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    if summary.get("recall_at_k"):
        groups = {"all": summary, **(summary.get("by_engine") or {})}
        width = 0.8 / len(RECALL_AT)
        colors = ["#4c72b0", "#55a868", "#c44e52"]
        for j, k in enumerate(RECALL_AT):
            values = [100 * ((g.get("recall_at_k") or {}).get(str(k)) or 0.0) for g in groups.values()]
            xs = [i + (j - (len(RECALL_AT) - 1) / 2) * width for i in range(len(groups))]
            bars = ax.bar(xs, values, width, label=f"recall@{k}", color=colors[j % len(colors)])
            ax.bar_label(bars, fmt="%.1f", fontsize=7)
        ax.set_xticks(range(len(groups)), [f"{name}\n({g['scored']} q)" for name, g in groups.items()])
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=len(RECALL_AT), frameon=False)
    else:
        names = ["exact set", "recall-1", "avg precision", "avg recall"]
        keys = ["exact_set_accuracy", "recall1_rate", "avg_precision", "avg_recall"]
        values = [100 * (summary[k] or 0.0) for k in keys]
        bars = ax.bar(names, values, color=["#4c72b0", "#55a868", "#c44e52", "#8172b2"])
        ax.bar_label(bars, fmt="%.1f", fontsize=8)
    ax.set_ylim(0, 105)
    ax.set_ylabel("%")
    ax.set_title(f"Schema linking, {title}: {summary['scored']} questions", fontsize=9)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
    return buffer.getvalue()
