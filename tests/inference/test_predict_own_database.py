"""Issue 19, items 1 and 2: predictions on your own database, with or without gold SQL.

- ``lrsql-eval --dataset CONV --db-dir DBS --questions Q`` on an ``lrsql-convert sqlite`` conversion:
  questions without SQL are predicted (predictions.jsonl, pred.sql) and evaluation is skipped with one
  line saying why; a mixed file is evaluated on the questions with SQL, the rest counted per reason.
- schema dumps (``--ddl-dir``): SQL predicted, not executed, and the report says so.
- ``lrsql-predict`` / ``Predictor``: one model load for any number of questions, tables and SQL printed,
  ``--execute`` runs read-only and refuses writes.

The fast tests script the model (an engine that answers fixed text); the slow ones train 2-step
adapters on SmolLM2-135M-Instruct with the recipes and a stock llamafactory-cli.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from lrsql_plugin.cli.convert import main as convert_main
from lrsql_plugin.cli.evaluate import main as eval_main
from lrsql_plugin.cli.predict import main as predict_main
from lrsql_plugin.inference import predictor as predictor_module
from lrsql_plugin.inference import preflight
from lrsql_plugin.inference import run as run_module
from lrsql_plugin.inference.engines.base import SCHEMA_LINK
from lrsql_plugin.inference.predictor import Predictor, execute_read_only
from lrsql_plugin.sources.sqlite_folder import load_sqlite_folder

DB = "department_store"
TRAIN = [  # questions with gold SQL on Spider's department_store (a train database: not in dev.json)
    ("How many staff are there?", "SELECT count(*) FROM Staff"),
    ("List the names of all staff.", "SELECT staff_name FROM Staff"),
    ("How many products are there?", "SELECT count(*) FROM Products"),
    ("What are the names and prices of all products?", "SELECT product_name, product_price FROM Products"),
    ("List the names of the suppliers.", "SELECT supplier_name FROM Suppliers"),
    ("How many customers are there?", "SELECT count(*) FROM Customers"),
    ("What are the names of the departments?", "SELECT department_name FROM Departments"),
    ("Which customers paid by credit card?", "SELECT customer_name FROM Customers WHERE payment_method_code = 'Credit Card'"),
    ("How many orders were cancelled?", "SELECT count(*) FROM Customer_Orders WHERE order_status_code = 'Cancelled'"),
    ("List the store names of all department stores.", "SELECT store_name FROM Department_Stores"),
    ("What is the average product price?", "SELECT avg(product_price) FROM Products"),
    ("Which staff work in department 1?",
     "SELECT T1.staff_name FROM Staff AS T1 JOIN Staff_Department_Assignments AS T2 ON T1.staff_id = T2.staff_id "
     "WHERE T2.department_id = 1"),
]
NO_SQL = ["How many staff are there?", "List all product names.", "Which supplier has the most products?"]


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, spider_dir):
    """A writable copy of the real department_store database (flat layout: dbs/<db_id>.sqlite), an
    ``lrsql-convert sqlite`` conversion of TRAIN into datasets/spider, and question files."""
    ws = tmp_path_factory.mktemp("own_db")
    (ws / "dbs").mkdir()
    shutil.copy(spider_dir / "database" / DB / f"{DB}.sqlite", ws / "dbs" / f"{DB}.sqlite")
    os.chmod(ws / "dbs" / f"{DB}.sqlite", 0o644)
    write_jsonl(ws / "train.jsonl", [{"db_id": DB, "question": q, "sql": s} for q, s in TRAIN])
    result = CliRunner().invoke(convert_main, ["sqlite", "--db-dir", str(ws / "dbs"), "--questions", str(ws / "train.jsonl"),
                                               "--tables-per-slice", "5", "--out", str(ws / "datasets" / "spider"), "--quiet"])
    assert result.exit_code == 0, result.output
    write_jsonl(ws / "nosql.jsonl", [{"db_id": DB, "question": q} for q in NO_SQL] + [{"db_id": "elsewhere", "question": "Hi?"}])
    write_jsonl(ws / "mixed.jsonl", [
        {"db_id": DB, "question": "How many staff are there?", "sql": "SELECT count(*) FROM Staff"},  # scored: match
        {"db_id": DB, "question": "List all product names."},  # no gold SQL
        {"db_id": "elsewhere", "question": "How many?", "sql": "SELECT 1"},  # unknown db_id: not predicted
        {"db_id": DB, "question": "Broken gold", "sql": "SELEC oops"},  # gold SQL fails
        {"db_id": DB, "question": 5},  # missing field: not predicted
        {"db_id": DB, "question": "Names of the staff?", "sql": "SELECT staff_name FROM Staff"},  # scored: mismatch
    ])
    return ws


class Scripted:
    """A model that links ``link`` in every slice that holds it and answers ``sql``; counts its calls."""

    def __init__(self, sql: str = "SELECT count(*) FROM Staff", link: str = "Staff") -> None:
        self.sql, self.link, self.calls = sql, link, []

    def generate(self, prompts, adapter, max_new_tokens):
        self.calls.append((adapter, len(prompts)))
        return [self.link if adapter == SCHEMA_LINK else self.sql for _ in prompts]

    def close(self):
        pass


@pytest.fixture
def scripted(monkeypatch):
    """Every engine lrsql-eval or the predictor builds is a Scripted one; ``built`` lists them."""
    built: list[Scripted] = []
    state = {"sql": "SELECT count(*) FROM Staff"}

    def factory(args):
        built.append(Scripted(state["sql"]))
        return built[-1]

    monkeypatch.setattr(run_module, "engine_from_arguments", factory)
    monkeypatch.setattr(predictor_module, "engine_from_arguments", factory)
    monkeypatch.setattr(preflight, "check_inference_models", lambda args: None)
    return built, state


MODEL = ["--base", "base-model", "--schema-link-adapter", "a", "--sql-adapter", "b", "--template", "qwen"]


def lrsql_eval(*args: object) -> object:
    return CliRunner().invoke(eval_main, [*MODEL, *(str(a) for a in args), "--no-progress"])


# --- item 1: gold-optional inference -------------------------------------------------------------


def test_sources_keep_sql_less_questions_only_when_asked(workspace):
    default = load_sqlite_folder(workspace / "dbs", workspace / "nosql.jsonl")
    assert default.examples == []  # conversion behaviour: a record without sql is skipped and listed
    assert [s.reason for s in default.skipped][:3] == ["missing or non-string field(s): sql"] * 3
    kept = load_sqlite_folder(workspace / "dbs", workspace / "nosql.jsonl", sql_optional=True)
    assert [e.question for e in kept.examples] == NO_SQL and all(e.sql == "" for e in kept.examples)
    assert [s.reason for s in kept.skipped] == [f"db_id 'elsewhere' has no SQLite file in {workspace / 'dbs'}"]


def test_questions_without_sql_are_predicted_and_evaluation_is_skipped(workspace, scripted, tmp_path):
    out = tmp_path / "out"
    result = lrsql_eval("--dataset", workspace / "datasets" / "spider", "--db-dir", workspace / "dbs",
                        "--questions", workspace / "nosql.jsonl", "--out", out)
    assert result.exit_code == 0, result.output
    preds = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert [p["question"] for p in preds] == NO_SQL and all(p["sql"] == "SELECT count(*) FROM Staff" for p in preds)
    assert (out / "pred.sql").read_text().splitlines() == ["SELECT count(*) FROM Staff"] * 3
    skipped = [line for line in result.output.splitlines() if line.startswith("evaluation skipped")]
    assert skipped == [f"evaluation skipped: none of the 3 predicted questions has gold SQL; predictions in "
                       f"{out / 'predictions.jsonl'} and {out / 'pred.sql'}"]
    assert "questions: 4 records read, 3 predicted, 1 not predicted (unknown db_id: 1)" in result.output
    assert "EX: 0 of 3 predicted questions scored (not scored: no gold SQL: 3)" in result.output
    report = (out / "report.md").read_text()
    assert "| records read | 4 |" in report and "| not predicted: unknown db_id | 1 |" in report
    assert "| EX: not scored: no gold SQL | 3 |" in report and "evaluation skipped" in report
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["evaluated"] is False and metrics["questions"]["predicted"] == 3


def test_a_mixed_file_is_evaluated_on_the_questions_with_sql_and_the_rest_counted(workspace, scripted, tmp_path):
    out = tmp_path / "out"
    result = lrsql_eval("--dataset", workspace / "datasets" / "spider", "--db-dir", workspace / "dbs",
                        "--questions", workspace / "mixed.jsonl", "--allow-gold-errors", "--out", out)
    assert result.exit_code == 0, result.output
    assert len((out / "predictions.jsonl").read_text().splitlines()) == 4  # 6 records, 2 not predicted
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["overall"]["total"] == 3 and metrics["overall"]["scored"] == 2 and metrics["overall"]["match"] == 1
    q = metrics["questions"]
    assert q["records_read"] == 6 and q["predicted"] == 4
    assert q["not_predicted"] == {"unknown db_id": 1, "missing or non-string field(s): question": 1}
    assert q["metrics"]["EX"] == {"scored": 2, "not_scored": {"no gold SQL": 1, "gold SQL fails: syntax error": 1}}
    assert q["metrics"]["linking"] == {"scored": 3, "not_scored": {"no gold SQL": 1}}
    assert ("questions: 6 records read, 4 predicted, 2 not predicted "
            "(unknown db_id: 1; missing or non-string field(s): question: 1)") in result.output
    assert "EX: 2 of 4 predicted questions scored (not scored: no gold SQL: 1; gold SQL fails: syntax error: 1)" in result.output
    assert "EX 50.00% over 2 scored questions" in result.output
    report = (out / "report.md").read_text()
    assert "## Questions: predicted and scored" in report and "| EX: scored | 2 of 4 |" in report


def test_a_conversion_names_its_source_flag_when_none_is_given(workspace, scripted, tmp_path):
    result = lrsql_eval("--dataset", workspace / "datasets" / "spider", "--questions", workspace / "nosql.jsonl",
                        "--out", tmp_path / "out")
    assert result.exit_code == 2
    assert "exactly one of --spider-dir, --bird-dir, --db-dir, --ddl-dir, --spider2-dir" in result.output
    assert "made from the sqlite source: give --db-dir" in result.output


def test_schema_dumps_are_predicted_not_executed(tmp_path, scripted):
    ddl = tmp_path / "ddl"
    ddl.mkdir()
    (ddl / "shop.sql").write_text(
        "CREATE TABLE `Staff` (`staff_id` INT PRIMARY KEY, `staff_name` VARCHAR(80));\n"
        "CREATE TABLE `Orders` (`order_id` INT PRIMARY KEY, `staff_id` INT, FOREIGN KEY (`staff_id`) REFERENCES `Staff` (`staff_id`));\n"
    )
    train = write_jsonl(tmp_path / "train.jsonl", [
        {"db_id": "shop", "question": "How many staff?", "sql": "SELECT count(*) FROM `Staff`"},
        {"db_id": "shop", "question": "How many orders?", "sql": "SELECT count(*) FROM `Orders`"},
    ])
    conv = tmp_path / "conv"
    done = CliRunner().invoke(convert_main, ["ddl", "--ddl-dir", str(ddl), "--dialect", "mysql", "--questions", str(train),
                                             "--tables-per-slice", "1", "--out", str(conv), "--quiet"])
    assert done.exit_code == 0, done.output
    questions = write_jsonl(tmp_path / "q.jsonl", [
        {"db_id": "shop", "question": "How many staff?", "sql": "SELECT count(*) FROM `Staff`"},
        {"db_id": "shop", "question": "Who took the most orders?"},
    ])
    out = tmp_path / "out"
    result = lrsql_eval("--dataset", conv, "--ddl-dir", ddl, "--questions", questions, "--out", out)  # dialect: the conversion's
    assert result.exit_code == 0, result.output
    assert len((out / "pred.sql").read_text().splitlines()) == 2
    assert ("evaluation skipped: the ddl source has no database files; SQL predicted (pred.sql), not executed"
            in result.output)
    assert ("EX: 0 of 2 predicted questions scored (not scored: no database file to execute on (ddl: schema dumps): 1; "
            "no gold SQL: 1)") in result.output
    assert "linking: 1 of 2 predicted questions scored (not scored: no gold SQL or gold tables: 1)" in result.output
    report = (out / "report.md").read_text()
    assert "source: ddl (no database files): linking metrics only, EX is not computed" in report
    assert json.loads((out / "metrics.json").read_text())["questions"]["metrics"]["linking"]["scored"] == 1


# --- item 2: one question, and the Python API ---------------------------------------------------


def predict(workspace, *args: object, input: str | None = None) -> object:
    return CliRunner().invoke(predict_main, [
        "--dataset", str(workspace / "datasets" / "spider"), "--db-dir", str(workspace / "dbs"), "--db-id", DB,
        *MODEL, *(str(a) for a in args)], input=input)


def test_predict_prints_tables_and_sql_and_with_execute_the_first_rows(workspace, scripted):
    built, state = scripted
    state["sql"] = "SELECT staff_name FROM Staff ORDER BY staff_id LIMIT 3"
    result = predict(workspace, "--question", "Names of the first three staff?", "--execute", "--verbose")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "tables: Staff" in lines
    assert "sql: SELECT staff_name FROM Staff ORDER BY staff_id LIMIT 3" in lines
    slices = [line for line in lines if line.startswith("slice ")]
    assert slices[0].startswith("slice 1/3 [") and slices[0].endswith("]: None")  # 14 tables, 5 per slice
    assert [s.rsplit(": ", 1)[1] for s in slices] == ["None", "None", "Staff"]
    with sqlite3.connect(workspace / "dbs" / f"{DB}.sqlite") as conn:
        names = [n for (n,) in conn.execute("SELECT staff_name FROM Staff ORDER BY staff_id LIMIT 3")]
    start = lines.index("rows: 3")
    assert lines[start + 1 : start + 5] == ["staff_name", *names]


@pytest.mark.parametrize("write", ["DELETE FROM Staff", "DROP TABLE Staff", "INSERT INTO Staff VALUES (99, 'm', 'x')",
                                   "UPDATE Staff SET staff_name = 'x'"])
def test_a_write_statement_is_refused(workspace, scripted, write):
    built, state = scripted
    state["sql"] = write
    db = workspace / "dbs" / f"{DB}.sqlite"
    before = db.read_bytes()
    result = predict(workspace, "--question", "Remove every staff member", "--execute")
    assert result.exit_code == 0, result.output
    assert f"sql: {write}" in result.output
    assert "refused: only read-only queries run (not authorized)" in result.output
    assert db.read_bytes() == before


def test_three_questions_on_stdin_give_three_answers_from_one_model_load(workspace, scripted):
    built, _ = scripted
    result = predict(workspace, input="How many staff are there?\n\nList the suppliers.\nHow many products?\n")
    assert result.exit_code == 0, result.output
    assert len(built) == 1  # one engine: the base model and both adapters loaded once
    assert [line for line in result.output.splitlines() if line.startswith("question: ")] == [
        "question: How many staff are there?", "question: List the suppliers.", "question: How many products?"]
    assert result.output.count("\nsql: SELECT count(*) FROM Staff") == 3
    sql_calls = [n for adapter, n in built[0].calls if adapter != SCHEMA_LINK]
    assert sql_calls == [1, 1, 1]  # each question answered as it arrived


def test_predict_needs_the_conversion_or_its_slicing(workspace, scripted):
    result = CliRunner().invoke(predict_main, ["--db-dir", str(workspace / "dbs"), "--db-id", DB, *MODEL, "--question", "q"])
    assert result.exit_code == 2 and "give --dataset" in result.output
    result = predict(workspace, "--question", "q", "--db-id", "nope")
    assert result.exit_code == 2 and "db_id 'nope' has no SQLite file" in result.output


def test_python_api(workspace, scripted):
    built, _ = scripted
    predictor = Predictor.load(dataset=workspace / "datasets" / "spider", db_dir=workspace / "dbs", base="base-model",
                               schema_link_adapter="a", sql_adapter="b", template="qwen")
    assert predictor.args.tables_per_slice == 5  # the conversion's slicing
    p = predictor.predict("How many staff are there?", DB)
    assert p.tables == ("Staff",) and p.sql == "SELECT count(*) FROM Staff" and p.fallback_kind == "none"
    assert sum(len(s.tables) for s in p.slices) == 14 and [s.linked for s in p.slices if s.linked] == [("Staff",)]
    result = predictor.execute(p)
    assert result.status == "ok" and result.columns == ("count(*)",) and result.rows == ((15,),)
    assert predictor.execute("SELECT 1; DELETE FROM Staff", DB).rows == ((1,),)  # the first statement only
    assert predictor.execute("ATTACH DATABASE ':memory:' AS x", DB).status == "refused"
    assert predictor.execute("SELECT staff_name FROM Staff", DB, max_rows=2).truncated
    assert len(built) == 1
    with pytest.raises(TypeError, match="unknown setting"):
        Predictor.load(db_dir=workspace / "dbs", base="b", sql_adapter="s", schema_link_adapter="a", no_such=1)


def test_execution_stops_at_the_timeout(workspace):
    slow = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c")
    result = execute_read_only(workspace / "dbs" / f"{DB}.sqlite", slow, timeout=0.3)
    assert result.status == "timeout" and result.seconds < 5


# --- slow: the real thing on SmolLM2-135M with 2-step adapters ----------------------------------

VENV_BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def trained(workspace, smollm2_dir):
    from tests.training.helpers import CPU_OVERRIDES, train

    ws = workspace
    if not (ws / "recipes").exists():
        (ws / "recipes").symlink_to(Path(__file__).resolve().parents[2] / "recipes", target_is_directory=True)
    adapters = {}
    for recipe, name in (("schema_link_lora", "schema_link"), ("sql_generation_lora", "sql_generation")):
        out = ws / "saves" / name
        if not (out / "adapter_model.safetensors").is_file():
            train(ws, recipe, [f"model_name_or_path={smollm2_dir}", f"output_dir={out}", "max_steps=2",
                               "gradient_accumulation_steps=1", "learning_rate=0.001", *CPU_OVERRIDES])
        adapters[name] = out
    return ws, adapters


def real_model(smollm2_dir: Path, adapters: dict) -> list[str]:
    return ["--base", str(smollm2_dir), "--schema-link-adapter", str(adapters["schema_link"]),
            "--sql-adapter", str(adapters["sql_generation"]), "--template", "qwen",
            "--link-max-new-tokens", "8", "--sql-max-new-tokens", "32"]


@pytest.mark.slow
def test_lrsql_predict_with_smollm2(trained, smollm2_dir, monkeypatch):
    ws, adapters = trained
    common = ["--dataset", str(ws / "datasets" / "spider"), "--db-dir", str(ws / "dbs"), "--db-id", DB,
              *real_model(smollm2_dir, adapters)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([str(VENV_BIN / "lrsql-predict"), *common, "--question", "How many staff are there?",
                           "--execute", "--verbose"], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr[-4000:]
    lines = proc.stdout.splitlines()
    assert any(line.startswith("slice 1/3 [") for line in lines)  # 14 tables, 5 per slice
    assert any(line.startswith("tables: ") for line in lines) and any(line.startswith("sql: ") for line in lines)
    # --execute: rows, or why there are none (the 2-step model's SQL may not run)
    assert any(line.startswith(("rows: ", "error: ", "refused: ", "timeout: ")) for line in lines), proc.stdout

    from lrsql_plugin.inference.engines import hf

    loads = []
    original = hf.HFEngine.__init__

    def counting(self, *a, **k):
        loads.append(1)
        original(self, *a, **k)

    monkeypatch.setattr(hf.HFEngine, "__init__", counting)
    result = CliRunner().invoke(predict_main, common, input="How many staff are there?\nList the suppliers.\n"
                                                              "What is the average product price?\n")
    assert result.exit_code == 0, result.output
    assert len(loads) == 1
    assert sum(line.startswith("question: ") for line in result.output.splitlines()) == 3
    assert sum(line.startswith("sql: ") for line in result.output.splitlines()) == 3
    assert sum(line.startswith("tables: ") for line in result.output.splitlines()) == 3


@pytest.mark.slow
def test_lrsql_eval_on_the_sqlite_conversion_with_smollm2(trained, smollm2_dir, tmp_path):
    ws, adapters = trained
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    for name, expect in (("nosql", "evaluation skipped: none of the 3 predicted questions has gold SQL"),
                         ("mixed", "EX: ")):
        out = tmp_path / name
        proc = subprocess.run(
            [str(VENV_BIN / "lrsql-eval"), *real_model(smollm2_dir, adapters), "--dataset", str(ws / "datasets" / "spider"),
             "--db-dir", str(ws / "dbs"), "--questions", str(ws / f"{name}.jsonl"), "--allow-gold-errors", "--timeout", "5",
             "--out", str(out), "--no-progress"], capture_output=True, text=True, env=env)
        assert proc.returncode == 0, proc.stderr[-4000:]
        assert expect in proc.stdout
        assert (out / "predictions.jsonl").is_file() and (out / "pred.sql").is_file()
    metrics = json.loads((tmp_path / "mixed" / "metrics.json").read_text())
    assert metrics["overall"]["total"] == 3 and metrics["questions"]["metrics"]["EX"]["not_scored"]["no gold SQL"] == 1
