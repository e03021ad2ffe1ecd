"""Exact-set match (EM): every verdict of the real-pair table, the rules one by one, and the official layout."""

from __future__ import annotations

import importlib.util
import json
import re
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from lrsql_plugin.cli.evaluate import main
from lrsql_plugin.evaluation import EvalItem, evaluate
from lrsql_plugin.evaluation.exact_match import EMSchema, exact_match, gold_em_error, read_components
from lrsql_plugin.evaluation.hardness import spider_hardness
from lrsql_plugin.hparams.eval_args import EvalArguments
from lrsql_plugin.sources.spider_tables import load_tables_json

DATA = Path(__file__).with_name("data")
PAIRS = json.loads((DATA / "em_pairs.json").read_text(encoding="utf-8"))
REPO = Path(__file__).resolve().parents[2]
DK_DB_IDS = ("new_concert_singer", "new_orchestra", "new_pets_1")


@pytest.fixture(scope="module")
def schemas(spider_dir: Path, dk_dir: Path) -> dict[str, EMSchema]:
    dbs = dict(load_tables_json(spider_dir / "tables.json"))
    dbs.update(load_tables_json(dk_dir / "tables.json"))
    return {db_id: EMSchema.of(dbs[db_id]) for db_id in ("department_store", *DK_DB_IDS)}


@pytest.fixture(scope="module")
def db_files(spider_dir: Path, dk_dir: Path) -> dict[str, Path]:
    files = {"department_store": spider_dir / "database" / "department_store" / "department_store.sqlite"}
    files.update({d: dk_dir / "database" / d / f"{d}.sqlite" for d in DK_DB_IDS})
    return files


@pytest.mark.parametrize("n", range(len(PAIRS)), ids=[f"{i + 1}-{p['feature']}" for i, p in enumerate(PAIRS)])
def test_every_verdict_of_the_table(n: int, schemas):
    pair = PAIRS[n]
    schema = schemas[pair["db_id"]]
    assert gold_em_error(pair["gold"], schema) == ""
    verdict = exact_match(pair["gold"], pair["prediction"], schema)
    assert verdict is not None
    assert verdict.match is pair["exact_match"], verdict.reason
    assert (verdict.reason == "exact match") is pair["exact_match"]


def test_the_table_is_real_and_covers_the_required_cases(db_files):
    assert len(PAIRS) >= 60
    assert {p["db_id"] for p in PAIRS} == {"department_store", *DK_DB_IDS}
    features = " ".join(p["feature"] for p in PAIRS)
    for needed in ("join order", "aliases", "case", "values", "missing condition", "extra condition",
                   "ORDER BY direction", "LIMIT", "DISTINCT", "nested query", "INTERSECT", "EXCEPT", "GROUP BY + HAVING"):
        assert needed in features, needed
    verdicts = [p["exact_match"] for p in PAIRS]
    assert verdicts.count(True) >= 20 and verdicts.count(False) >= 20
    for p in PAIRS:  # real queries: every gold runs, and every prediction not marked unreadable
        conn = sqlite3.connect(f"file:{db_files[p['db_id']]}?mode=ro", uri=True)
        try:
            conn.execute(p["gold"]).fetchall()
            if p["feature"] != "unreadable prediction":
                conn.execute(p["prediction"]).fetchall()
        finally:
            conn.close()


def test_the_doc_table_is_the_test_data():
    spec = importlib.util.spec_from_file_location("em_pairs_src_render", DATA / "em_pairs_src.py")
    source = (DATA / "em_pairs_src.py").read_text(encoding="utf-8")
    namespace: dict = {"__file__": str(DATA / "em_pairs_src.py"), "__name__": "em_pairs_src_render"}
    render = source[source.index("def render_doc"):source.index("doc = Path(")]
    exec(compile("from pathlib import Path\n" + render, str(spec.origin), "exec"), namespace)  # noqa: S102
    doc = (REPO / "docs" / "exact_match.md").read_text(encoding="utf-8")
    assert doc == namespace["render_doc"](PAIRS), "regenerate with: .venv/bin/python tests/evaluation/data/em_pairs_src.py"


class TestRules:
    def test_values_are_dropped_but_subqueries_kept(self, schemas):
        c = read_components("SELECT name FROM singer WHERE country = 'France' AND singer_id IN (SELECT singer_id FROM singer_in_concert)",
                            schemas["new_concert_singer"])
        first, _, second = c["where"]
        assert first[3] is None and isinstance(second[3], dict)

    def test_foreign_key_groups_pick_the_first_column(self, schemas):
        fk = schemas["new_pets_1"].fk_map
        assert fk["__has_pet.stuid__"] == fk["__student.stuid__"] == "__student.stuid__"
        assert fk["__has_pet.petid__"] == fk["__pets.petid__"] == "__has_pet.petid__"  # column 10 before 11

    def test_foreign_keys_apply_only_to_columns_of_from_tables(self, schemas):
        """Selecting has_pet.stuid without has_pet in FROM is no valid column to unify: the prediction cannot be read."""
        assert exact_match("SELECT stuid FROM student", "SELECT has_pet.stuid FROM student", schemas["new_pets_1"]).match is False

    def test_value_placeholder_of_official_predictions(self, schemas):
        verdict = exact_match("SELECT count(*) FROM pets WHERE weight > 10 AND pettype = 'dog'",
                              "SELECT count(*) FROM pets WHERE weight > value AND pettype = 'cat'", schemas["new_pets_1"])
        assert verdict.match

    def test_order_by_after_a_union_belongs_to_the_last_branch(self, schemas):
        c = read_components("SELECT name FROM stadium UNION SELECT name FROM singer ORDER BY name LIMIT 2", schemas["new_concert_singer"])
        assert c["orderBy"] == [] and c["limit"] is None
        assert c["union"]["orderBy"][0] == "asc" and c["union"]["limit"] == 2

    def test_gold_outside_the_grammar_has_no_verdict(self, schemas):
        gold = "WITH s AS (SELECT * FROM singer) SELECT count(*) FROM s"
        assert "WITH" in gold_em_error(gold, schemas["new_concert_singer"])
        assert exact_match(gold, gold, schemas["new_concert_singer"]) is None

    def test_partial_scores_name_the_differing_components(self, schemas):
        verdict = exact_match("SELECT name FROM singer ORDER BY birthday DESC LIMIT 1", "SELECT name FROM singer ORDER BY birthday",
                              schemas["new_concert_singer"])
        assert verdict.reason == "differs in order, keywords"
        assert verdict.partial["order"] == (1, 1, 0) and verdict.partial["select"] == (1, 1, 1)


def test_evaluate_reports_em_per_bucket_and_leaves_out_golds_without_verdict(dk_db_root: Path, dk_dir: Path):
    schemas = load_tables_json(dk_dir / "tables.json")
    pairs = [p for p in PAIRS if p["db_id"] in DK_DB_IDS]
    items = [EvalItem(p["db_id"], p["gold"], p["prediction"]) for p in pairs]
    items.append(EvalItem("new_concert_singer", "WITH s AS (SELECT * FROM singer) SELECT count(*) FROM s", "SELECT count(*) FROM singer"))
    result = evaluate(items, dk_db_root, EvalArguments(etype="match", workers=1), schemas=schemas, progress=False)
    assert result.overall.em_scored == len(pairs)
    assert result.overall.em_match == sum(p["exact_match"] for p in pairs)
    assert [e.index for e in result.em_gold_errors] == [len(pairs)]
    assert result.overall.ex is None and all(e.outcome == "not_run" for e in result.examples)  # match only: nothing executed
    by_bucket = {}
    for p in pairs:
        by_bucket.setdefault(spider_hardness(p["gold"]), []).append(p["exact_match"])
    for bucket, verdicts in by_bucket.items():
        assert result.buckets()[bucket].em == pytest.approx(sum(verdicts) / len(verdicts))


def test_cli_etype_all_prints_the_official_layout(dk_dir: Path, dk_questions: list[dict], tmp_path: Path):
    gold, pred = tmp_path / "gold.txt", tmp_path / "pred.txt"
    pairs = [p for p in PAIRS if p["db_id"] in DK_DB_IDS]
    gold.write_text("".join(f"{' '.join(p['gold'].split())}\t{p['db_id']}\n" for p in pairs), encoding="utf-8")
    pred.write_text("".join(" ".join(p["prediction"].split()) + "\n" for p in pairs), encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["--gold", str(gold), "--pred", str(pred), "--db", str(dk_dir / "database"), "--table",
                                       str(dk_dir / "tables.json"), "--etype", "all", "--out", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    header = next(i for i, line in enumerate(lines) if re.fullmatch(r"\s{20} easy\s+medium\s+hard\s+extra\s+all\s*", line))
    metrics = json.loads((out / "metrics.json").read_text())
    levels = ["easy", "medium", "hard", "extra"]
    counts = [metrics["buckets"].get(level, {}).get("total", 0) for level in levels] + [len(pairs)]
    assert lines[header + 1].split() == ["count", *map(str, counts)]
    assert lines[header + 2] == "=====================   EXECUTION ACCURACY     ====================="
    execution = lines[header + 3].split()
    assert execution[0] == "execution" and float(execution[-1]) == pytest.approx(metrics["ex"], abs=6e-4)
    exact = next(line for line in lines if line.startswith("exact match")).split()
    assert float(exact[-1]) == pytest.approx(sum(p["exact_match"] for p in pairs) / len(pairs), abs=6e-4)
    for level, value in zip(levels, exact[2:6]):
        assert float(value) == pytest.approx(metrics["buckets"].get(level, {}).get("em") or 0.0, abs=6e-4)
    assert "---------------------PARTIAL MATCHING ACCURACY----------------------" in lines
    assert any(line.startswith("keywords ") for line in lines)
    per_example = [json.loads(line) for line in (out / "per_example.jsonl").read_text().splitlines()]
    assert [e["exact_match"] for e in per_example] == [p["exact_match"] for p in pairs]
    assert "## Official layout" in (out / "report.md").read_text()


def test_etype_exec_leaves_exact_match_null(dk_dir: Path, tmp_path: Path):
    jsonl = tmp_path / "p.jsonl"
    jsonl.write_text(json.dumps({"db_id": "new_pets_1", "gold": "SELECT count(*) FROM pets", "prediction": "SELECT count(*) FROM pets"}) + "\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["--jsonl", str(jsonl), "--db", str(dk_dir / "database"), "--out", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    row = json.loads((out / "per_example.jsonl").read_text())
    assert "exact_match" in row and row["exact_match"] is None and row["match"] is True
