"""Input formats and the errors bad input gives (file, record, reason)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lrsql_plugin.errors import InputError
from lrsql_plugin.evaluation.inputs import (
    EvalItem,
    locate_databases,
    pair,
    read_gold,
    read_jsonl,
    read_predictions,
)
from lrsql_plugin.sources.spider_tables import load_tables_json


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


class TestOfficialSpiderFiles:
    def test_gold_lines_and_prediction_lines_pair_up(self, tmp_path: Path):
        gold = write(tmp_path / "gold.txt", "SELECT count(*) FROM singer\tnew_concert_singer\nSELECT 1\tnew_pets_1\n\n")
        pred = write(tmp_path / "pred.txt", "SELECT count(*) FROM singer\tignored\n\n\n")
        items = pair(read_gold(gold), gold, read_predictions(pred), pred)
        assert [(i.db_id, i.gold, i.prediction, i.record) for i in items] == [
            ("new_concert_singer", "SELECT count(*) FROM singer", "SELECT count(*) FROM singer", "line 1"),
            ("new_pets_1", "SELECT 1", "", "line 2"),  # an empty line is an empty prediction
        ]

    def test_fewer_predictions_than_gold_names_the_gold_line_left_over(self, tmp_path: Path):
        gold = write(tmp_path / "gold.txt", "SELECT 1\tdb\nSELECT 2\tdb\nSELECT 3\tdb\n")
        pred = write(tmp_path / "pred.txt", "SELECT 1\nSELECT 2\n")
        with pytest.raises(InputError) as e:
            pair(read_gold(gold), gold, read_predictions(pred), pred)
        assert str(e.value) == f"{pred}: 2 predictions for 3 gold queries in {gold}: no prediction for {gold}, line 3"

    def test_more_predictions_than_gold_names_the_extra_line(self, tmp_path: Path):
        gold = write(tmp_path / "gold.txt", "SELECT 1\tdb\n")
        pred = write(tmp_path / "pred.txt", "SELECT 1\nSELECT 2\n")
        with pytest.raises(InputError, match=r"pred.txt, line 2: 2 predictions for 1 gold queries"):
            pair(read_gold(gold), gold, read_predictions(pred), pred)

    def test_gold_line_without_db_id(self, tmp_path: Path):
        gold = write(tmp_path / "gold.txt", "SELECT 1\tdb\nSELECT 2\n")
        with pytest.raises(InputError, match=r"gold.txt, line 2: expected 'SQL<TAB>db_id'"):
            read_gold(gold)

    def test_missing_file(self, tmp_path: Path):
        with pytest.raises(InputError, match="nope.txt: file not found"):
            read_gold(tmp_path / "nope.txt")


class TestJsonFormats:
    def test_spider_dev_json_as_gold(self, dk_dir: Path):
        records = read_gold(dk_dir / "Spider-DK.json")
        assert len(records) == 535 and records[0].record == "record 1" and records[0].question

    def test_bird_dev_json_and_prediction_json(self, tmp_path: Path):
        dev = write(tmp_path / "dev.json", json.dumps([
            {"question_id": 0, "db_id": "db", "question": "q0", "evidence": "", "SQL": "SELECT 1", "difficulty": "simple"},
            {"question_id": 1, "db_id": "db", "question": "q1", "evidence": "", "SQL": "SELECT 2", "difficulty": "challenging"},
        ]))
        pred = write(tmp_path / "predict_dev.json", json.dumps(
            {"0": "SELECT 1\t----- bird -----\tdb", "1": "SELECT 3\t----- bird -----\tdb"}))
        items = pair(read_gold(dev), dev, read_predictions(pred), pred)
        assert [(i.gold, i.prediction, i.difficulty) for i in items] == [
            ("SELECT 1", "SELECT 1", "simple"), ("SELECT 2", "SELECT 3", "challenging")]
        assert items[1].record == "record 2 (question_id 1)"

    def test_bird_prediction_for_another_database(self, tmp_path: Path):
        dev = write(tmp_path / "dev.json", json.dumps([{"db_id": "db", "SQL": "SELECT 1"}]))
        pred = write(tmp_path / "predict_dev.json", json.dumps({"0": "SELECT 1\t----- bird -----\tother"}))
        with pytest.raises(InputError, match=r"predict_dev.json, key 0: db_id 'other' but the gold"):
            pair(read_gold(dev), dev, read_predictions(pred), pred)

    def test_bird_prediction_keys_must_be_consecutive(self, tmp_path: Path):
        pred = write(tmp_path / "predict_dev.json", json.dumps({"0": "SELECT 1", "2": "SELECT 2"}))
        with pytest.raises(InputError, match=r"key 1: keys must be 0..1; key 1 is missing"):
            read_predictions(pred)


class TestJsonl:
    def test_reads_items_with_optional_tables(self, tmp_path: Path):
        path = write(tmp_path / "items.jsonl", "\n".join([
            json.dumps({"db_id": "d", "question": "q", "gold": "SELECT 1", "prediction": "SELECT 2",
                        "predicted_tables": ["a"], "gold_tables": ["a", "b"]}),
            json.dumps({"db_id": "d", "question": "q", "gold": "SELECT 1", "prediction": "SELECT 1"}),
        ]) + "\n")
        first, second = read_jsonl(path)
        assert (first.predicted_tables, first.gold_tables, first.record) == (("a",), ("a", "b"), "line 1")
        assert second.predicted_tables is None

    @pytest.mark.parametrize(
        ("line", "reason"),
        [
            ('{"db_id": "d", "gold": "SELECT 1"}', "missing string field 'prediction'"),
            ("not json", "not valid JSON"),
            ('{"db_id": "d", "gold": "g", "prediction": "p", "predicted_tables": "a"}', "'predicted_tables' must be a list"),
        ],
    )
    def test_bad_lines_name_the_line_and_the_reason(self, tmp_path: Path, line: str, reason: str):
        path = write(tmp_path / "items.jsonl", json.dumps({"db_id": "d", "gold": "g", "prediction": "p"}) + "\n" + line + "\n")
        with pytest.raises(InputError, match=rf"items.jsonl, line 2: {reason}"):
            read_jsonl(path)


class TestDatabases:
    def test_unknown_db_id_against_tables_json(self, dk_dir: Path):
        schemas = load_tables_json(dk_dir / "tables.json")
        items = [EvalItem("new_pets_1", "g", "p", source="gold.txt", record="line 1"),
                 EvalItem("no_such_db", "g", "p", source="gold.txt", record="line 2")]
        with pytest.raises(InputError, match=r"gold.txt, line 2: unknown db_id 'no_such_db': not in .*tables.json"):
            locate_databases(items, dk_dir / "database", schemas, dk_dir / "tables.json")

    def test_missing_database(self, dk_dir: Path):
        schemas = load_tables_json(dk_dir / "tables.json")
        items = [EvalItem("car_1", "g", "p", source="gold.txt", record="line 7")]  # in tables.json, no .sqlite shipped
        with pytest.raises(InputError, match=r"gold.txt, line 7: missing database for db_id 'car_1': no .sqlite"):
            locate_databases(items, dk_dir / "database", schemas)

    def test_found_files(self, dk_dir: Path):
        found = locate_databases([EvalItem("new_pets_1", "g", "p")], dk_dir / "database")
        assert [p.name for p in found["new_pets_1"]] == ["new_pets_1.sqlite"]


def test_an_empty_gold_file_is_an_error(tmp_path: Path):
    gold = write(tmp_path / "gold.txt", "\n")
    pred = write(tmp_path / "pred.txt", "")
    with pytest.raises(InputError, match="gold.txt: no gold queries"):
        pair(read_gold(gold), gold, read_predictions(pred), pred)


def test_json_gold_errors_name_the_record_index(tmp_path: Path):
    gold = write(tmp_path / "dev.json", json.dumps([{"db_id": "d", "query": "SELECT 1"}, {"db_id": "d"}]))
    with pytest.raises(InputError, match=r"dev.json, record 2: needs string fields 'db_id' and 'query'"):
        read_gold(gold)
