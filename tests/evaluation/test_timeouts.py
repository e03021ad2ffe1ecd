"""Runaway predictions are really stopped at the timeout, score 0, and a batch of them ends in bounded time."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from lrsql_plugin.evaluation import EvalItem, evaluate
from lrsql_plugin.hparams.eval_args import EvalArguments

GOLD = "SELECT count(*) FROM Student"
# 34 students: 34^5 = 45 million rows of 40 columns
CARTESIAN = "SELECT * FROM Student AS a, Student AS b, Student AS c, Student AS d, Student AS e"
INFINITE_CTE = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c"


@pytest.mark.parametrize("prediction", [CARTESIAN, INFINITE_CTE], ids=["five-way-cartesian", "infinite-recursive-cte"])
def test_a_runaway_prediction_stops_within_timeout_plus_one_second(dk_db_root: Path, prediction: str):
    timeout = 1.0
    started = time.monotonic()
    result = evaluate([EvalItem("new_pets_1", GOLD, prediction)], dk_db_root, EvalArguments(timeout=timeout, workers=1),
                      progress=False)
    elapsed = time.monotonic() - started
    verdict = result.examples[0]
    assert (verdict.match, verdict.reason) == (False, "timeout")
    assert timeout <= elapsed < timeout + 1.0


def test_ten_runaways_on_two_workers_end_in_bounded_time(dk_db_root: Path):
    timeout, workers, count = 1.0, 2, 10
    # distinct texts (a comment each): identical items would be judged once
    items = [EvalItem("new_pets_1", GOLD, f"{CARTESIAN if i % 2 else INFINITE_CTE} /* {i} */") for i in range(count)]
    started = time.monotonic()
    result = evaluate(items, dk_db_root, EvalArguments(timeout=timeout, workers=workers), progress=False)
    elapsed = time.monotonic() - started
    assert result.overall.counts["timeout"] == count
    assert result.ex == 0.0
    ideal = timeout * count / workers  # 5 s: each runaway stops at its deadline, two at a time
    assert ideal <= elapsed < 1.5 * ideal + 5.0


def test_a_gold_that_times_out_is_a_gold_error(dk_db_root: Path):
    result = evaluate([EvalItem("new_pets_1", INFINITE_CTE, GOLD)], dk_db_root, EvalArguments(timeout=0.5, workers=1),
                      progress=False)
    verdict = result.examples[0]
    assert verdict.outcome == "gold_error"
    assert verdict.reason.startswith("gold error: timeout after 0.5 s")
    assert result.overall.scored == 0 and result.ex is None


def test_a_result_over_the_row_cap_is_a_prediction_error(dk_db_root: Path):
    result = evaluate([EvalItem("new_pets_1", GOLD, "SELECT * FROM Student")], dk_db_root,
                      EvalArguments(max_rows=10, workers=1), progress=False)
    assert result.examples[0].reason == "prediction error: result has more than 10 rows (max_rows)"


def test_a_gold_shared_by_many_predictions_runs_once(dk_db_root: Path):
    # about half a second of SQLite work; eight items sharing it would need four seconds on two workers
    slow_gold = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000000) SELECT count(*) FROM c"
    started = time.monotonic()
    evaluate([EvalItem("new_pets_1", slow_gold, "SELECT 2000000")], dk_db_root, EvalArguments(workers=2), progress=False)
    once = time.monotonic() - started
    started = time.monotonic()
    # eight different predictions (identical items would be judged once anyway), one gold
    items = [EvalItem("new_pets_1", slow_gold, f"SELECT 2000000 + {i} - {i}") for i in range(8)]
    result = evaluate(items, dk_db_root, EvalArguments(workers=2), progress=False)
    eight = time.monotonic() - started
    assert result.overall.counts["match"] == 8
    assert eight < 2 * once + 0.5
