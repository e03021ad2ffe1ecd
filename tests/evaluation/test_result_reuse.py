"""Reusing results (a gold's for its own text, a repeated prediction's for its other golds) never changes
a verdict: a pooled run, on one worker or two, gives each item the verdict that running its two
queries afresh and comparing them gives."""

from __future__ import annotations

import random
from pathlib import Path

from lrsql_plugin.evaluation import EvalItem, evaluate
from lrsql_plugin.evaluation.execution import QueryRunner
from lrsql_plugin.evaluation.semantics import (
    has_order_by,
    join_spaced_comparisons,
    remove_distinct,
    spider_results_equal,
)
from lrsql_plugin.hparams.eval_args import EvalArguments


def fresh_outcome(item: EvalItem, db_root: Path) -> str:
    """Both queries run on a new connection, no cache: the verdict by the Spider rules, from scratch."""
    gold, pred = (remove_distinct(join_spaced_comparisons(sql)) for sql in (item.gold, item.prediction))
    with QueryRunner(timeout=30, max_rows=10**6) as runner:
        path = db_root / item.db_id / f"{item.db_id}.sqlite"
        expected, got = runner.run(path, gold), runner.run(path, pred)
    if expected.status != "ok":
        return "gold_error"
    if got.status != "ok":
        return "prediction_error"
    return "match" if spider_results_equal(expected.rows, got.rows, has_order_by(gold)) else "mismatch"


def pooled_items(dk_questions: list[dict]) -> list[EvalItem]:
    """Each question with its own gold, with another question's gold on its database (so one prediction
    text meets several golds), with its gold reordered and cut to one row; replicated and shuffled."""
    rng = random.Random(7)
    by_db: dict[str, list[str]] = {}
    for q in dk_questions:
        by_db.setdefault(q["db_id"], []).append(q["query"])
    items = []
    for q in dk_questions:
        other = rng.choice(by_db[q["db_id"]])
        items += [EvalItem(q["db_id"], q["query"], q["query"]), EvalItem(q["db_id"], q["query"], other),
                  EvalItem(q["db_id"], q["query"], q["query"] + " ORDER BY 1 DESC"),
                  EvalItem(q["db_id"], q["query"], q["query"] + " LIMIT 1")]  # the gold's text and then some
    items = items * 3
    rng.shuffle(items)
    return items


def test_pooled_verdicts_equal_verdicts_from_scratch(dk_questions: list[dict], dk_db_root: Path):
    items = pooled_items(dk_questions)
    distinct = list(dict.fromkeys(items))
    fresh = {item: fresh_outcome(item, dk_db_root) for item in distinct}
    assert set(fresh.values()) == {"match", "mismatch", "prediction_error", "gold_error"}  # every outcome exercised
    for workers in (1, 2):
        pooled = evaluate(items, dk_db_root, EvalArguments(workers=workers), progress=False)
        assert [e.index for e in pooled.examples] == list(range(len(items)))
        assert [e.outcome for e in pooled.examples] == [fresh[i] for i in items]
