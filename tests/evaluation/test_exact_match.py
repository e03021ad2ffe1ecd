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
        """has_pet.stuid without has_pet in FROM is read (as the official parser does) but is no column of a FROM
        table, so it is not unified with student.stuid: no match."""
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


# (what, gold, prediction, the official verdict): each verdict is what the official evaluation.py
# (taoyds/spider, commit cccfe7bc) gave for the pair on new_concert_singer; see docs/exact_match.md.
OFFICIAL_VERDICTS = [
    ("JOIN without ON", "SELECT T2.name FROM concert AS T1 JOIN stadium AS T2 ON T1.stadium_id = T2.stadium_id",
     "SELECT T2.name FROM concert AS T1 JOIN stadium AS T2", True),
    ("JOIN without ON, three tables",
     "SELECT T2.name FROM concert AS T1 JOIN stadium AS T2 ON T1.stadium_id = T2.stadium_id JOIN singer_in_concert AS T3 "
     "ON T1.concert_id = T3.concert_id",
     "SELECT T2.name FROM concert AS T1 JOIN stadium AS T2 JOIN singer_in_concert AS T3 ON T1.concert_id = T3.concert_id", True),
    ("gold JOIN without ON", "SELECT T2.name FROM concert AS T1 JOIN stadium AS T2",
     "SELECT T2.name FROM concert AS T1 JOIN stadium AS T2 ON T1.stadium_id = T2.stadium_id", True),
    ("JOIN without ON, the condition moved to WHERE (an extra WHERE unit)",
     "SELECT T2.name FROM concert AS T1 JOIN stadium AS T2 ON T1.stadium_id = T2.stadium_id WHERE T1.year = 2014",
     "SELECT T2.name FROM concert AS T1 JOIN stadium AS T2 WHERE T1.stadium_id = T2.stadium_id AND T1.year = 2014", False),
    ("JOIN without ON, WHERE kept", "SELECT T2.name FROM concert AS T1 JOIN stadium AS T2 ON T1.stadium_id = T2.stadium_id WHERE T1.year = 2014",
     "SELECT T2.name FROM concert AS T1 JOIN stadium AS T2 WHERE T1.year = 2014", True),
    ("JOIN without ON inside a subquery (compared whole, ON included)",
     "SELECT name FROM stadium WHERE stadium_id IN (SELECT T1.stadium_id FROM concert AS T1 JOIN stadium AS T2 ON T1.stadium_id = T2.stadium_id)",
     "SELECT name FROM stadium WHERE stadium_id IN (SELECT T1.stadium_id FROM concert AS T1 JOIN stadium AS T2)", False),
    ("explicit ON TRUE", "SELECT T2.name FROM concert AS T1 JOIN stadium AS T2 ON T1.stadium_id = T2.stadium_id",
     "SELECT T2.name FROM concert AS T1 JOIN stadium AS T2 ON TRUE", False),
    ("another ON condition", "SELECT T2.name FROM concert AS T1 JOIN stadium AS T2 ON T1.stadium_id = T2.stadium_id",
     "SELECT T2.name FROM concert AS T1 JOIN stadium AS T2 ON T1.concert_id = T2.capacity", True),
    ("ON a AND b with LIKE (a keyword)", "SELECT T2.name FROM concert AS T1 JOIN stadium AS T2 ON T1.stadium_id = T2.stadium_id",
     "SELECT T2.name FROM concert AS T1 JOIN stadium AS T2 ON T1.stadium_id = T2.stadium_id AND T1.theme LIKE 'x'", False),
    ("ON a = col OR ... (the OR part is read into the value)",
     "SELECT T2.name FROM concert AS T1 JOIN stadium AS T2 ON T1.stadium_id = T2.stadium_id",
     "SELECT T2.name FROM concert AS T1 JOIN stadium AS T2 ON T1.stadium_id = T2.stadium_id OR T1.year = 1", True),
    ("ON in parentheses", "SELECT T2.name FROM concert AS T1 JOIN stadium AS T2 ON T1.stadium_id = T2.stadium_id",
     "SELECT T2.name FROM concert AS T1 JOIN stadium AS T2 ON (T1.stadium_id = T2.stadium_id)", False),
    ("LEFT JOIN", "SELECT T2.name FROM concert AS T1 JOIN stadium AS T2 ON T1.stadium_id = T2.stadium_id",
     "SELECT T2.name FROM concert AS T1 LEFT JOIN stadium AS T2 ON T1.stadium_id = T2.stadium_id", False),
    ("INNER JOIN", "SELECT T2.name FROM concert AS T1 JOIN stadium AS T2 ON T1.stadium_id = T2.stadium_id",
     "SELECT T2.name FROM concert AS T1 INNER JOIN stadium AS T2 ON T1.stadium_id = T2.stadium_id", False),
    ("comma join", "SELECT T2.name FROM concert AS T1 JOIN stadium AS T2 ON T1.stadium_id = T2.stadium_id",
     "SELECT T2.name FROM concert AS T1 , stadium AS T2 WHERE T1.stadium_id = T2.stadium_id", False),
    ("JOIN ... USING", "SELECT T2.name FROM concert AS T1 JOIN stadium AS T2 ON T1.stadium_id = T2.stadium_id",
     "SELECT name FROM concert JOIN stadium USING (stadium_id)", False),
    ("alias without AS", "SELECT T2.name FROM concert AS T1 JOIN stadium AS T2 ON T1.stadium_id = T2.stadium_id",
     "SELECT T2.name FROM concert T1 JOIN stadium T2 ON T1.stadium_id = T2.stadium_id", False),
    ("an alias reused for another table in a subquery (one alias map for the whole query)",
     "SELECT T1.name FROM singer AS T1 WHERE T1.singer_id NOT IN (SELECT T2.singer_id FROM singer_in_concert AS T2)",
     "SELECT T1.name FROM singer AS T1 WHERE T1.singer_id NOT IN (SELECT T1.singer_id FROM singer_in_concert AS T1)", False),
    ("a table's own name while it has an alias", "SELECT T2.name FROM concert AS T1 JOIN stadium AS T2 ON T1.stadium_id = T2.stadium_id",
     "SELECT stadium.name FROM concert AS T1 JOIN stadium AS T2 ON T1.stadium_id = T2.stadium_id", True),
    ("column alias with AS", "SELECT count(*) FROM singer", "SELECT count(*) AS n FROM singer", False),
    ("missing comma in SELECT", "SELECT name , country FROM singer", "SELECT name country FROM singer", True),
    ("t.*", "SELECT * FROM singer", "SELECT T1.* FROM singer AS T1", False),
    ("quoted column name", "SELECT name FROM singer WHERE country = 'France'", 'SELECT "name" FROM singer WHERE country = \'France\'', False),
    ("parenthesised condition", "SELECT name FROM singer WHERE country = 'France'", "SELECT name FROM singer WHERE (country = 'France')", False),
    ("parenthesised value unit", "SELECT name FROM stadium WHERE capacity - average > 1", "SELECT name FROM stadium WHERE (capacity - average) > 1", True),
    ("NOT before the column", "SELECT name FROM singer WHERE country NOT IN (SELECT country FROM singer)",
     "SELECT name FROM singer WHERE NOT country IN (SELECT country FROM singer)", False),
    ("<>", "SELECT name FROM singer WHERE country != 'France'", "SELECT name FROM singer WHERE country <> 'France'", False),
    ("IN with two values", "SELECT name FROM singer WHERE country IN ('a')", "SELECT name FROM singer WHERE country IN ('a', 'b')", False),
    ("IN with one value", "SELECT name FROM singer WHERE country IN ('a')", "SELECT name FROM singer WHERE country IN ('b')", True),
    ("an aggregate as a value", "SELECT country FROM singer GROUP BY country HAVING count(*) > 1",
     "SELECT country FROM singer GROUP BY country HAVING count(*) > count(DISTINCT name)", False),
    ("LIMIT ... OFFSET at the end", "SELECT name FROM singer LIMIT 1", "SELECT name FROM singer LIMIT 1 OFFSET 1", True),
    ("OFFSET inside a subquery", "SELECT name FROM stadium WHERE capacity > (SELECT capacity FROM stadium LIMIT 2)",
     "SELECT name FROM stadium WHERE capacity > (SELECT capacity FROM stadium LIMIT 2 OFFSET 1)", False),
    ("a subquery in two pairs of parentheses", "SELECT name FROM stadium WHERE capacity > (SELECT avg(capacity) FROM stadium)",
     "SELECT name FROM stadium WHERE capacity > ((SELECT avg(capacity) FROM stadium))", False),
    ("a quote inside a string", "SELECT name FROM singer WHERE country = 'France'", "SELECT name FROM singer WHERE country = 'O''Brien'", False),
    ("arithmetic on aggregates in SELECT", "SELECT max(capacity) FROM stadium", "SELECT max(capacity) - min(capacity) FROM stadium", False),
]


@pytest.mark.parametrize(("gold", "prediction", "official"), [c[1:] for c in OFFICIAL_VERDICTS], ids=[c[0] for c in OFFICIAL_VERDICTS])
def test_forms_are_read_as_the_official_parser_reads_them(gold: str, prediction: str, official: bool, schemas):
    verdict = exact_match(gold, prediction, schemas["new_concert_singer"])
    assert verdict is not None and verdict.match is official, verdict.reason


def test_a_real_gold_with_join_without_on_has_a_verdict(spider_dir: Path, dk_dir: Path):
    """Spider-DK's dog_kennels gold joins without ON; the official parser reads it, and so do we."""
    gold = next(q["query"] for q in json.loads((dk_dir / "Spider-DK.json").read_text(encoding="utf-8"))
                if q["db_id"] == "dog_kennels" and re.search(r"JOIN Treatments AS T2 WHERE", q["query"]))
    schema = EMSchema.of(dict(load_tables_json(spider_dir / "tables.json"))["dog_kennels"])
    assert gold_em_error(gold, schema) == ""
    assert exact_match(gold, gold, schema).match
    components = read_components(gold, schema)
    assert len(components["from"]["table_units"]) == 2 and components["from"]["conds"] == []
    with_on = gold.replace("JOIN Treatments AS T2 WHERE", "JOIN Treatments AS T2 ON T1.professional_id = T2.professional_id WHERE")
    assert exact_match(gold, with_on, schema).match and exact_match(with_on, gold, schema).match
