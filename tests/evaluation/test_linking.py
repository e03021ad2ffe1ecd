"""Schema-linking metrics, checked against numbers computed by hand."""

from __future__ import annotations

import pytest

from lrsql_plugin.evaluation.linking import linking_scores


def test_hand_computed_example():
    pairs = [
        (["singer", "concert"], ["singer", "concert"]),  # exact: P=1, R=1
        (["Singer", "stadium", "concert"], ["singer", "CONCERT"]),  # superset: P=2/3, R=1, recall-1 yes
        (["singer"], ["singer", "singer_in_concert"]),  # missed one: P=1, R=1/2
        ([], ["stadium"]),  # nothing predicted: P=0, R=0
    ]
    scores = linking_scores(pairs)
    assert scores is not None
    assert scores.count == 4
    assert scores.exact_set_accuracy == pytest.approx(1 / 4)
    assert scores.recall1_rate == pytest.approx(2 / 4)
    assert scores.avg_precision == pytest.approx((1 + 2 / 3 + 1 + 0) / 4)  # 0.6667
    assert scores.avg_recall == pytest.approx((1 + 1 + 0.5 + 0) / 4)  # 0.625


def test_empty_sets():
    scores = linking_scores([([], [])])
    assert scores is not None
    assert (scores.exact_set_accuracy, scores.recall1_rate, scores.avg_precision, scores.avg_recall) == (1, 1, 1, 1)


def test_no_pairs_gives_none():
    assert linking_scores([]) is None
