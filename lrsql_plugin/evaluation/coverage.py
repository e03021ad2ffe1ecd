"""Where every question record of an inference run went: predicted or not, scored or not, and why.

The denominators are explicit: records read, predicted (written to predictions.jsonl and pred.sql),
and, per metric, scored.  A record that is not predicted (unknown db_id, missing field, ...) or
predicted but not scored (no gold SQL, failing gold query, no database file, ...) is counted under
its reason, so that the numbers always add up::

    read = predicted + not predicted (by reason)
    predicted = scored + not scored (by reason)      (per metric)
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lrsql_plugin.errors import Skipped

NO_SQL = "no gold SQL"
NOT_EXECUTABLE = "no database file to execute on"
NO_GOLD_TABLES = "no gold SQL or gold tables"
GOLD_UNPARSED = "gold SQL does not parse (no gold tables)"
MISSING_DB = "no database file (--skip-missing-db)"
LIMIT = "beyond --limit"


def skip_kind(reason: str) -> str:
    """A loader's skip reason without its particulars: "db_id 'x' has no schema" -> "unknown db_id"."""
    text = reason.strip()
    head, sep, rest = text.partition(": ")
    if sep and " " not in head and not head.startswith("missing"):  # "<instance_id>: ..." (Spider 2.0)
        text = rest
    if re.search(r"\bdb(_id)?\b.*\bhas no\b", text) or "unknown db" in text:
        return "unknown db_id"
    if text.startswith("missing or non-string field(s)"):
        return text
    if "no gold tables" in text or "lists no table" in text:
        return "no gold tables"
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "…", text)
    return re.sub(r" in \S*[/\\]\S*$", "", text)


@dataclass
class Metric:
    """One metric's denominator: how many predicted questions it scored, and why the others were not."""

    name: str
    scored: int
    not_scored: Counter = field(default_factory=Counter)

    def line(self, predicted: int) -> str:
        why = "; ".join(f"{reason}: {n}" for reason, n in self.not_scored.most_common())
        return f"{self.name}: {self.scored} of {predicted} predicted questions scored" + (f" (not scored: {why})" if why else "")


@dataclass
class Coverage:
    read: int
    predicted: int
    not_predicted: Counter = field(default_factory=Counter)
    metrics: list[Metric] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # e.g. "evaluation skipped: ..."

    @classmethod
    def of(cls, examples: int, skipped: Sequence[Skipped], limit: int | None) -> Coverage:
        """Records read = ``examples`` kept by the loader plus the ``skipped`` ones; ``limit`` cuts the examples."""
        not_predicted = Counter(skip_kind(s.reason) for s in skipped)
        predicted = min(examples, limit) if limit else examples
        if predicted < examples:
            not_predicted[LIMIT] = examples - predicted
        return cls(read=examples + len(skipped), predicted=predicted, not_predicted=not_predicted)

    def add(self, name: str, scored: int, not_scored: Mapping[str, int]) -> Metric:
        metric = Metric(name, scored, Counter({k: v for k, v in not_scored.items() if v}))
        self.metrics.append(metric)
        return metric

    def lines(self) -> list[str]:
        """The printed summary: records read and predicted, then each metric's denominator."""
        why = "; ".join(f"{reason}: {n}" for reason, n in self.not_predicted.most_common())
        out = [f"questions: {self.read} records read, {self.predicted} predicted"
               + (f", {self.read - self.predicted} not predicted ({why})" if why else "")]
        out += [m.line(self.predicted) for m in self.metrics]
        return out + list(self.notes)

    def markdown(self) -> list[str]:
        """report.md's section: the same counts as tables."""
        out = ["## Questions: predicted and scored", "", "| | questions |", "|---|---|",
               f"| records read | {self.read} |", f"| predicted (predictions.jsonl, pred.sql) | {self.predicted} |"]
        out += [f"| not predicted: {reason} | {n} |" for reason, n in self.not_predicted.most_common()]
        for m in self.metrics:
            out.append(f"| {m.name}: scored | {m.scored} of {self.predicted} |")
            out += [f"| {m.name}: not scored: {reason} | {n} |" for reason, n in m.not_scored.most_common()]
        out.append("")
        out += [f"- {n}" for n in self.notes]
        return out + ([""] if self.notes else [])

    def as_dict(self) -> dict[str, object]:
        return {
            "records_read": self.read,
            "predicted": self.predicted,
            "not_predicted": dict(self.not_predicted.most_common()),
            "metrics": {m.name: {"scored": m.scored, "not_scored": dict(m.not_scored.most_common())} for m in self.metrics},
            "notes": list(self.notes),
        }


_NO_FILES = {"ddl": "schema dumps", "spider2": "cloud engines and schema files"}


def not_executable(source: str) -> str:
    """The not-scored reason of a question with SQL on a source without database files."""
    return f"{NOT_EXECUTABLE} ({source}: {_NO_FILES.get(source, 'no database files')})"


def linking_metric(coverage: Coverage, examples: Sequence[object], gold: Mapping[int, object]) -> Metric:
    """Linking's denominator over the predicted ``examples`` (``gold``: question index -> gold tables or None)."""
    missing: Counter = Counter()
    for i, ex in enumerate(examples):
        if gold.get(i) is None:
            missing[GOLD_UNPARSED if getattr(ex, "sql", "") else NO_GOLD_TABLES] += 1
    return coverage.add("linking", len(examples) - sum(missing.values()), missing)


def add_evaluation(coverage: Coverage, result: object, not_evaluated: Mapping[str, int]) -> None:
    """EX / EM / linking denominators of an evaluation (``result`` an EvalResult) over the predicted
    questions; ``not_evaluated``: predicted questions not handed to the evaluation, by reason."""
    from lrsql_plugin.evaluation.report import gold_error_reasons

    s = result.settings
    base = {**not_evaluated, MISSING_DB: result.skipped_count}
    if s.computes_ex:
        fails = {f"gold SQL fails: {k}": v for k, v in gold_error_reasons(result).items()}
        coverage.add("EX", result.overall.scored, {**base, **fails})
    if s.computes_em:
        coverage.add("EM", result.overall.em_scored,
                     {**base, "gold SQL outside the official grammar": len(result.em_gold_errors)})
    if result.linking is not None or result.linking_skipped:
        scored = result.linking.count if result.linking is not None else 0
        coverage.add("linking", scored, {**base, GOLD_UNPARSED: result.linking_skipped})


def write_coverage_report(out_dir: str | Path, coverage: Coverage, settings: Mapping[str, object]) -> dict[str, Path]:
    """metrics.json and report.md of a run whose predictions were not evaluated (no gold SQL)."""
    import json

    from lrsql_plugin.files import atomic_write_text

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"metrics.json": out / "metrics.json", "report.md": out / "report.md"}
    metrics = {"evaluated": False, "questions": coverage.as_dict(), "settings": dict(settings)}
    atomic_write_text(paths["metrics.json"], json.dumps(metrics, indent=2, ensure_ascii=False, default=str) + "\n")
    md = ["# lrsql-eval: predictions", "", *coverage.markdown(),
          f"- settings: `{json.dumps(dict(settings), ensure_ascii=False, default=str)}`", ""]
    atomic_write_text(paths["report.md"], "\n".join(md))
    return paths
