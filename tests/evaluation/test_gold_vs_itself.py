"""Gold against itself on every Spider-DK question of the three shipped databases scores 100%."""

from __future__ import annotations

from pathlib import Path

import pytest

from lrsql_plugin.evaluation import EvalItem, evaluate
from lrsql_plugin.hparams.eval_args import EvalArguments
from tests.evaluation.conftest import BROKEN_GOLD


@pytest.mark.parametrize(
    "settings",
    [
        EvalArguments(workers=2),
        EvalArguments(workers=1, keep_distinct=True),
        EvalArguments(workers=2, semantics="bird"),
    ],
    ids=["spider", "spider-keep-distinct", "bird"],
)
def test_every_runnable_gold_matches_itself_and_the_broken_one_is_a_gold_error(
    dk_dir: Path, dk_questions: list[dict], settings: EvalArguments
):
    items = [EvalItem(q["db_id"], q["query"], q["query"], question=q["question"]) for q in dk_questions]
    result = evaluate(items, dk_dir / "database", settings, progress=False)
    assert len(result.examples) == 127
    assert result.overall.counts == {"match": 126, "mismatch": 0, "prediction_error": 0, "timeout": 0, "gold_error": 1}
    assert result.ex == 1.0
    [broken] = result.gold_errors
    assert broken.item.gold == BROKEN_GOLD and broken.item.db_id == "new_pets_1"
    assert [e.index for e in result.examples] == list(range(127))
