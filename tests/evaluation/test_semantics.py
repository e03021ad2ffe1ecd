"""EX semantics, pinned with real queries on the Spider-DK databases.

Spider semantics (official test-suite evaluator): multiset of rows up to a column permutation,
row order only when the gold has ORDER BY, DISTINCT removed from both unless kept, both empty
equal, a failing prediction scores 0, a failing gold is excluded.  BIRD: set of rows, column
order matters.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from lrsql_plugin.errors import InputError
from lrsql_plugin.evaluation import EvalItem, evaluate
from lrsql_plugin.evaluation.evaluate import _Judge, _RepeatedPredictions
from lrsql_plugin.evaluation.execution import QueryOutcome, QueryRunner
from lrsql_plugin.evaluation.semantics import (
    bird_results_equal,
    has_order_by,
    remove_distinct,
    spider_results_equal,
)
from lrsql_plugin.hparams.eval_args import EvalArguments
from tests.evaluation.conftest import BROKEN_GOLD

SINGERS = "SELECT name, country FROM singer"


class TestColumnPermutation:
    def test_swapped_columns_match_under_spider(self, judge):
        assert judge("new_concert_singer", SINGERS, "SELECT country, name FROM singer").match

    def test_swapped_columns_do_not_match_under_bird(self, judge):
        verdict = judge("new_concert_singer", SINGERS, "SELECT country, name FROM singer", semantics="bird")
        assert verdict.reason == "mismatch"

    def test_a_different_column_is_not_a_permutation(self, judge):
        assert not judge("new_concert_singer", SINGERS, "SELECT name, song_name FROM singer").match

    def test_permutation_must_hold_for_whole_rows_not_only_per_column(self, judge):
        # same values per column, but paired differently across rows
        gold = "SELECT T1.name, T2.name FROM singer AS T1 JOIN singer AS T2 ON T1.singer_id = T2.singer_id"
        pred = "SELECT T1.name, T2.name FROM singer AS T1 JOIN singer AS T2 ON T1.singer_id = 7 - T2.singer_id"
        assert not judge("new_concert_singer", gold, pred).match


class TestDuplicateRows:
    GOLD = "SELECT country FROM singer"  # France four times

    def test_spider_counts_duplicates(self, judge):
        verdict = judge("new_concert_singer", self.GOLD, "SELECT country FROM singer GROUP BY country")
        assert verdict.reason == "mismatch"

    def test_bird_ignores_duplicates(self, judge):
        verdict = judge("new_concert_singer", self.GOLD, "SELECT country FROM singer GROUP BY country", semantics="bird")
        assert verdict.match


class TestRowOrder:
    GOLD_ORDERED = "SELECT name FROM singer ORDER BY birthday"

    def test_order_matters_when_gold_has_order_by(self, judge):
        assert judge("new_concert_singer", self.GOLD_ORDERED, "SELECT name FROM singer ORDER BY birthday").match
        verdict = judge("new_concert_singer", self.GOLD_ORDERED, "SELECT name FROM singer ORDER BY birthday DESC")
        assert verdict.reason == "mismatch"

    def test_order_is_ignored_when_gold_has_no_order_by(self, judge):
        assert judge("new_concert_singer", "SELECT name FROM singer", "SELECT name FROM singer ORDER BY name DESC").match

    def test_order_by_inside_a_subquery_of_the_gold_counts_as_official(self):
        assert has_order_by("SELECT a FROM t WHERE b = (SELECT b FROM t ORDER BY c LIMIT 1)")
        assert not has_order_by("SELECT a FROM t WHERE b = 'order by'")


class TestDistinct:
    def test_distinct_is_removed_from_both_by_default(self, judge):
        assert judge("new_concert_singer", "SELECT DISTINCT country FROM singer", "SELECT country FROM singer").match

    def test_keep_distinct_compares_what_the_queries_return(self, judge):
        verdict = judge("new_concert_singer", "SELECT DISTINCT country FROM singer", "SELECT country FROM singer",
                        keep_distinct=True)
        assert verdict.reason == "mismatch"

    def test_count_distinct_loses_distinct_too_as_in_the_official_evaluator(self, judge):
        gold, pred = "SELECT count(DISTINCT country) FROM singer", "SELECT count(country) FROM singer"
        assert judge("new_concert_singer", gold, pred).match  # 6 == 6 once DISTINCT is gone
        assert not judge("new_concert_singer", gold, pred, keep_distinct=True).match  # 3 != 6

    def test_removal_uses_the_ast_and_keeps_everything_else(self):
        sql = "SELECT DISTINCT name FROM singer WHERE country = 'distinct' UNION SELECT count(DISTINCT x) FROM t"
        assert remove_distinct(sql) == "SELECT name FROM singer WHERE country = 'distinct' UNION SELECT COUNT(x) FROM t"
        assert remove_distinct("SELECT name FROM singer") == "SELECT name FROM singer"  # untouched text

    def test_bird_never_removes_distinct(self, judge):
        gold, pred = "SELECT count(DISTINCT country) FROM singer", "SELECT count(country) FROM singer"
        assert not judge("new_concert_singer", gold, pred, semantics="bird").match


class TestEmptyResults:
    def test_both_empty_match_whatever_their_columns(self, judge):
        gold = "SELECT name FROM singer WHERE country = 'Japan'"
        assert judge("new_concert_singer", gold, "SELECT name, country FROM singer WHERE 1 = 0").match

    def test_empty_against_rows_is_a_mismatch(self, judge):
        gold = "SELECT name FROM singer WHERE country = 'Japan'"
        assert judge("new_concert_singer", gold, "SELECT name FROM singer").reason == "mismatch"
        assert judge("new_concert_singer", "SELECT name FROM singer", gold).reason == "mismatch"


class TestNulls:
    NO_STUDENT_AGE = "SELECT max(age) FROM Student WHERE age > 100"  # one row holding NULL

    def test_null_equals_null(self, judge):
        assert judge("new_pets_1", self.NO_STUDENT_AGE, "SELECT NULL").match
        assert judge("new_pets_1", self.NO_STUDENT_AGE, "SELECT min(age) FROM Student WHERE age > 200").match

    def test_null_differs_from_zero_and_from_no_rows(self, judge):
        assert not judge("new_pets_1", self.NO_STUDENT_AGE, "SELECT 0").match
        assert not judge("new_pets_1", self.NO_STUDENT_AGE, "SELECT age FROM Student WHERE age > 100").match

    def test_left_join_nulls_survive_a_column_permutation(self, judge):
        gold = "SELECT T1.StuID, T2.PetID FROM Student AS T1 LEFT JOIN Has_Pet AS T2 ON T1.StuID = T2.StuID"
        pred = "SELECT T2.PetID, T1.StuID FROM Student AS T1 LEFT JOIN Has_Pet AS T2 ON T1.StuID = T2.StuID"
        assert judge("new_pets_1", gold, pred).match


class TestValues:
    def test_integer_and_real_compare_as_python_compares_them(self, judge):
        assert judge("new_concert_singer", "SELECT count(*) FROM singer", "SELECT 6.0").match

    def test_text_never_equals_a_number(self, judge):
        assert not judge("new_concert_singer", "SELECT count(*) FROM singer", "SELECT '6'").match


class TestErrors:
    def test_a_failing_prediction_scores_zero_with_sqlites_message(self, judge):
        verdict = judge("new_concert_singer", SINGERS, "SELECT nme FROM singer")
        assert not verdict.match
        assert verdict.reason == "prediction error: no such column: nme"

    def test_an_empty_prediction_is_a_prediction_error(self, judge):
        assert judge("new_concert_singer", SINGERS, "").outcome == "prediction_error"

    def test_broken_gold_is_listed_excluded_from_the_denominator_and_counted(self, dk_db_root):
        items = [
            EvalItem("new_pets_1", BROKEN_GOLD, "SELECT fname, lname, age FROM student", source="dk", record="q76"),
            EvalItem("new_pets_1", "SELECT count(*) FROM Pets", "SELECT count(*) FROM Pets"),
            EvalItem("new_pets_1", "SELECT count(*) FROM Pets", "SELECT count(*) FROM Student"),
        ]
        result = evaluate(items, dk_db_root, EvalArguments(workers=1), progress=False)
        broken = result.examples[0]
        assert broken.outcome == "gold_error" and not broken.match
        assert broken.reason.startswith('gold error: near ".": syntax error')
        assert result.gold_errors == [broken]
        assert (result.overall.total, result.overall.scored, result.overall.counts["gold_error"]) == (3, 2, 1)
        assert result.ex == 0.5


    def test_a_database_file_sqlite_cannot_read_is_a_hard_error_naming_it(self, dk_db_root: Path):
        broken = dk_db_root / "new_pets_1" / "new_pets_1.sqlite"
        broken.write_bytes(b"not a database " * 100)
        items = [EvalItem("new_pets_1", "SELECT count(*) FROM Pets", "SELECT count(*) FROM Pets")]
        with pytest.raises(InputError, match=f"{broken}: not a valid SQLite database: no SQLite header"):
            evaluate(items, dk_db_root, EvalArguments(workers=1), progress=False)


class TestBirdAgainstSpider:
    """The same pair can score differently: BIRD compares sets with columns in order."""

    @pytest.mark.parametrize(
        ("gold", "pred", "spider", "bird"),
        [
            (SINGERS, "SELECT country, name FROM singer", True, False),
            ("SELECT country FROM singer", "SELECT country FROM singer GROUP BY country", False, True),
            (SINGERS, SINGERS, True, True),
        ],
    )
    def test_verdicts(self, judge, gold, pred, spider, bird):
        assert judge("new_concert_singer", gold, pred).match is spider
        assert judge("new_concert_singer", gold, pred, semantics="bird").match is bird


class TestEveryDatabaseFileMustMatch:
    def test_a_prediction_right_on_one_file_but_wrong_on_another_is_wrong(self, dk_db_root: Path):
        folder = dk_db_root / "new_concert_singer"
        shutil.copy(folder / "new_concert_singer.sqlite", folder / "variant.sqlite")
        with sqlite3.connect(folder / "variant.sqlite") as conn:
            conn.execute("INSERT INTO singer (Singer_ID, Name, Country) VALUES (7, 'Extra Singer', 'Japan')")
        conn.close()
        settings = EvalArguments(workers=1)
        items = [
            EvalItem("new_concert_singer", "SELECT count(*) FROM singer", "SELECT 6"),  # true only on the original
            EvalItem("new_concert_singer", "SELECT count(*) FROM singer", "SELECT count(Singer_ID) FROM singer"),
        ]
        result = evaluate(items, dk_db_root, settings, progress=False)
        assert [e.reason for e in result.examples] == ["mismatch", "match"]
        assert "variant.sqlite" in result.examples[0].message
        assert len(result.databases["new_concert_singer"]) == 2


class TestComparisonFunctions:
    def test_spider_permutation_search_with_repeated_columns(self):
        gold = [(1, 1, 2), (1, 1, 3)]
        assert spider_results_equal(gold, [(2, 1, 1), (3, 1, 1)], order_matters=False)
        assert spider_results_equal(gold, [(1, 2, 1), (1, 3, 1)], order_matters=True)
        assert not spider_results_equal(gold, [(1, 3, 1), (1, 2, 1)], order_matters=True)

    def test_spider_rejects_different_widths_and_lengths(self):
        assert not spider_results_equal([(1,)], [(1, 1)], order_matters=False)
        assert not spider_results_equal([(1,)], [(1,), (1,)], order_matters=False)

    def test_bird_is_set_equality(self):
        assert bird_results_equal([(1, "a"), (1, "a")], [(1, "a")])
        assert not bird_results_equal([(1, "a")], [("a", 1)])

    def test_one_column_compares_as_a_multiset_or_a_list(self):
        gold = [(1,), (1,), (2,)]
        assert spider_results_equal(gold, [(2,), (1,), (1,)], order_matters=False)
        assert not spider_results_equal(gold, [(2,), (1,), (1,)], order_matters=True)
        assert not spider_results_equal(gold, [(1,), (2,), (2,)], order_matters=False)  # same set, other counts


class TestRepeatedTexts:
    """Each distinct query runs once; reusing a result never changes a verdict."""

    def test_a_prediction_that_is_the_gold_text_matches(self, judge):
        assert judge("new_orchestra", "SELECT Name FROM conductor", "SELECT Name FROM conductor").match

    def test_a_random_query_is_run_again_not_reused(self, judge):
        # the official evaluator runs gold and prediction separately: two random() calls differ
        result = judge("new_orchestra", "SELECT random() FROM conductor", "SELECT random() FROM conductor")
        assert result.outcome == "mismatch"

    def test_one_prediction_text_is_judged_against_each_of_its_golds(self, dk_db_root):
        pred = "SELECT count(*) FROM conductor"
        items = [EvalItem("new_orchestra", "SELECT count(*) FROM conductor", pred),
                 EvalItem("new_orchestra", "SELECT count(*) FROM performance", pred),
                 EvalItem("new_orchestra", "SELECT count(Conductor_ID) FROM conductor", pred)]
        result = evaluate(items, dk_db_root, EvalArguments(workers=1), progress=False)
        conductors, performances = (sqlite3.connect(dk_db_root / "new_orchestra" / "new_orchestra.sqlite")
                                  .execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("conductor", "performance"))
        assert conductors != performances
        assert [e.outcome for e in result.examples] == ["match", "mismatch", "match"]


    def test_a_random_prediction_met_with_two_golds_is_run_for_each(self, dk_db_root):
        pred = "SELECT abs(random()) % 1000000007 FROM conductor LIMIT 1"
        items = [EvalItem("new_orchestra", "SELECT 1", pred), EvalItem("new_orchestra", "SELECT 2", pred)]
        runs = []
        with QueryRunner(timeout=5, max_rows=10) as runner:
            original = runner.run
            runner.run = lambda path, sql: runs.append(sql) or original(path, sql)  # count what SQLite is asked
            judge = _Judge(runner, EvalArguments(workers=1), {"new_orchestra": [dk_db_root / "new_orchestra" / "new_orchestra.sqlite"]},
                           repeated=_RepeatedPredictions(Counter((i.db_id, i.prediction) for i in items), 100))
            [judge(n, item) for n, item in enumerate(items)]
        assert runs.count(pred) == 2


class TestTextDecoding:
    def test_text_that_is_not_utf8_loses_its_bad_bytes_as_in_the_official_evaluator(self, tmp_path):
        db = tmp_path / "latin" / "latin.sqlite"
        db.parent.mkdir()
        conn = sqlite3.connect(db)
        conn.execute("CREATE TABLE t (name TEXT)")
        conn.execute("INSERT INTO t VALUES (CAST(X'436166e9' AS TEXT)), ('Café')")  # latin-1 'Café', then UTF-8
        conn.commit()
        conn.close()
        with QueryRunner(timeout=5, max_rows=10) as runner:
            assert runner.run(db, "SELECT name FROM t").rows == [("Caf",), ("Café",)]
            assert runner.run(db, "SELECT name FROM t WHERE rowid = 2").rows == [("Café",)]
        items = [EvalItem("latin", "SELECT name FROM t", "SELECT name FROM t ORDER BY rowid DESC"),
                 EvalItem("latin", "SELECT name FROM t", "SELECT 'Caf' UNION ALL SELECT 'Café'")]
        result = evaluate(items, tmp_path, EvalArguments(workers=1), progress=False)
        assert [e.outcome for e in result.examples] == ["match", "match"]

class TestRepeatedPredictionCache:
    """Results of a prediction text that comes with several golds live until its last item, within a row budget."""

    def test_kept_until_the_last_use_then_freed(self, tmp_path):
        key, path = ("db", "SELECT x FROM t"), tmp_path / "db.sqlite"
        cache = _RepeatedPredictions(Counter({key: 2, ("db", "once"): 1}), max_rows=10)
        cache.put(key, path, QueryOutcome("ok", rows=[(1,), (2,)]))
        cache.put(("db", "once"), path, QueryOutcome("ok", rows=[(3,)]))  # never comes back: not kept
        assert cache.get(key, path).rows == [(1,), (2,)] and cache.get(("db", "once"), path) is None
        assert cache.rows == 2
        cache.done(key)
        assert cache.get(key, path) is not None
        cache.done(key)
        assert cache.get(key, path) is None and cache.rows == 0

    def test_the_row_budget_and_timeouts_are_respected(self, tmp_path):
        a, b, c = (("db", f"q{i}") for i in range(3))
        cache = _RepeatedPredictions(Counter({a: 2, b: 2, c: 2}), max_rows=3)
        cache.put(a, tmp_path, QueryOutcome("ok", rows=[(1,), (2,)]))
        cache.put(b, tmp_path, QueryOutcome("ok", rows=[(1,), (2,)]))  # 4 rows would exceed the budget
        cache.put(c, tmp_path, QueryOutcome("timeout", message="timeout after 1 s"))
        assert cache.get(a, tmp_path) is not None and cache.get(b, tmp_path) is None and cache.get(c, tmp_path) is None
