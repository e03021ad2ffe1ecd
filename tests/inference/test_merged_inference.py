"""Inference inside a pseudo-database, and settings taken from the conversion manifest (``--dataset``).

The engines here are oracles that read the rendered prompts: they answer the gold tables a slice
shows (or, adversarially, another member's tables) and the gold SQL.  What they are shown is
exactly what a model would be shown, so the tests pin slicing, memory, mapping and dropping.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from lrsql_plugin.cli.evaluate import link_gold_by_index, settings_from_dataset_and_adapters
from lrsql_plugin.cli.evaluate import main as eval_main
from lrsql_plugin.evaluation.link_report import linking_summary
from lrsql_plugin.hparams.infer_args import InferenceArguments
from lrsql_plugin.inference.engines.base import SCHEMA_LINK, SQL_GENERATION
from lrsql_plugin.inference.run import run_inference
from lrsql_plugin.sources.spider import load_spider
from tests.convert.conftest import run_convert
from tests.hardening.fake_openai import FakeOpenAI

WITH_DATABASES = ("new_concert_singer", "new_orchestra", "new_pets_1")


def _question(prompt_text: str) -> str:
    return re.search(r"^Question: (.*)", prompt_text, re.M).group(1)  # slice-first prompts start with the schema


class Oracle:
    """Schema link: the gold tables (link-schema names) among the slice's CREATE TABLEs; SQL: the gold SQL.

    ``wrong`` makes it also name every table of the slice that belongs to another member database.
    """

    def __init__(self, questions: list[dict], wrong: bool = False) -> None:
        self.by_question = {q["question"]: q for q in questions}
        self.wrong = wrong
        self.sql_prompts: list[str] = []
        self.link_prompts: list[str] = []

    def answer(self, adapter: str, user: str) -> str:
        q = self.by_question[_question(user)]
        if adapter == SCHEMA_LINK:
            self.link_prompts.append(user)
            shown = re.findall(r'CREATE TABLE "?([^"\s(]+)"? \(', user)
            hits = [t for t in shown if t in q["link_gold_tables"]]
            if self.wrong:
                hits += [t for t in shown if t not in q["link_gold_tables"] and not t.startswith(q["db_id"])
                         and t.lower() not in {g.lower() for g in q["gold_tables"]}]
            return ", ".join(hits) or "None"
        self.sql_prompts.append(user)
        return q["sql"]

    def generate(self, prompts, adapter, max_new_tokens):
        return [self.answer(adapter, p.user) for p in prompts]

    def close(self):
        pass


@pytest.fixture(scope="module")
def merged_dk(dk_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """Spider-DK's 10 databases as one pseudo-database (4 tables a slice), questions on the 3 with contents."""
    ws = tmp_path_factory.mktemp("merged_dk")
    members = ws / "members.txt"
    members.write_text("\n".join(sorted({q["db_id"] for q in json.loads((dk_dir / "Spider-DK.json").read_text())})) + "\n")
    questions = [q for q in json.loads((dk_dir / "Spider-DK.json").read_text()) if q["db_id"] in WITH_DATABASES]
    (ws / "questions.json").write_text(json.dumps(questions[:40] + questions[45:60] + questions[85:100]))
    out = ws / "conv"
    r = run_convert("spider", "--spider-dir", dk_dir, "--questions", ws / "questions.json", "--merge-dbs", members,
                    "--tables-per-slice", "4", "--out", out)
    assert r.exit_code == 0, r.output
    conv = [json.loads(line) for line in (out / "questions.jsonl").read_text().splitlines()]
    return ws, out, conv


def run_eval_with_oracle(oracle: Oracle, merged_dk, dk_dir: Path, *extra: object):
    """``lrsql-eval --engine openai --dataset CONVERSION ...`` in-process against a local server answering as ``oracle``."""
    ws, conv_dir, _ = merged_dk
    with FakeOpenAI(answer=oracle.answer) as server:
        return CliRunner().invoke(eval_main, [
            "--engine", "openai", "--api-base", server.url, "--dataset", str(conv_dir), "--spider-dir", str(dk_dir),
            "--questions", str(ws / "questions.json"), "--no-progress", *map(str, extra),
        ], catch_exceptions=False)


def _args(dataset: Path, **kw) -> InferenceArguments:
    given = {"engine": "openai", "api_base": "http://unused/v1", "dataset": str(dataset), "template": "qwen",
             "tables_per_slice": 5, "tokens_per_slice": None, "tokenizer": None, "sample_values": 0,
             "templates_dir": None, "descriptions": True, **kw}
    return InferenceArguments(**settings_from_dataset_and_adapters(given, explicit=set()))


def test_oracle_links_perfectly_inside_the_pseudo_database(merged_dk, dk_dir, tmp_path):
    ws, conv_dir, conv = merged_dk
    data = load_spider(dk_dir, questions=[ws / "questions.json"])
    args = _args(conv_dir)
    assert args.tables_per_slice == 4  # from the manifest, not the default 5
    oracle = Oracle(conv)
    records = run_inference(data, args, tmp_path, engine=oracle, progress=False)
    gold = link_gold_by_index(data, args)
    summary = linking_summary(records, gold)
    assert summary["scored"] == len(records) == len(conv)
    assert summary["exact_set_accuracy"] == 1.0 and summary["other_member_tables_dropped"] == 0
    manifest = json.loads((conv_dir / "manifest.json").read_text())
    [pseudo] = manifest["pseudo_databases"]
    renamed = 0
    for rec, q in zip(records, conv):
        assert rec["link_schema"] == "merged" and rec["slices"] == pseudo["slicing"]
        assert sorted(rec["link_schema_tables"]) == sorted(q["link_gold_tables"])  # merged names
        assert sorted(rec["linked_tables"]) == sorted(q["gold_tables"])  # mapped back to the own database
        assert rec["sql"].split() == q["sql"].split()
        renamed += rec["link_schema_tables"] != rec["linked_tables"]
    assert renamed > 0  # some gold tables carry a <db_id>__ prefix in the pseudo-database
    # stage 2 saw the question's own tables under their own names
    assert all("CREATE TABLE" in p and "__" not in p for p in oracle.sql_prompts)


def test_other_members_tables_are_false_positives_dropped_before_sql(merged_dk, dk_dir, tmp_path):
    ws, conv_dir, conv = merged_dk
    data = load_spider(dk_dir, questions=[ws / "questions.json"])
    oracle = Oracle(conv, wrong=True)
    records = run_inference(data, _args(conv_dir), tmp_path, engine=oracle, progress=False)
    summary = linking_summary(records, link_gold_by_index(data, _args(conv_dir)))
    assert summary["recall1_rate"] == 1.0 and summary["avg_precision"] < 0.5 and summary["exact_set_accuracy"] == 0.0
    assert summary["other_member_tables_dropped"] > len(records)
    own = {d: {t.lower() for t in data.databases[d].table_names} for d in WITH_DATABASES}
    for rec in records:
        assert rec["other_member_tables"] and set(rec["other_member_tables"]) <= set(rec["link_schema_tables"])
        assert {t.lower() for t in rec["linked_tables"]} <= own[rec["db_id"]]
    for prompt, rec in zip(oracle.sql_prompts, records):
        shown = {t.lower() for t in re.findall(r'CREATE TABLE "?([^"\s(]+)"? \(', prompt)}
        assert shown <= own[rec["db_id"]]


def test_merged_inference_and_evaluation_through_the_cli_with_the_openai_engine(merged_dk, dk_dir, tmp_path):
    ws, conv_dir, conv = merged_dk
    oracle = Oracle(conv)
    out = tmp_path / "run"
    result = run_eval_with_oracle(oracle, merged_dk, dk_dir, "--out", out, "--limit", "12")
    assert result.exit_code == 0, result.output
    report = (out / "report.md").read_text()
    assert "Linking inside the pseudo-database (merged names)" in report and "| exact set | 100.00% |" in report
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["pseudo_database_linking"]["exact_set_accuracy"] == 1.0
    assert metrics["overall"]["scored"] >= 10 and metrics["overall"]["ex"] == 1.0  # gold SQL on the real databases
    preds = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert all(p["link_schema"] == "merged" and "link_schema_tables" in p for p in preds)


def test_link_only_needs_no_databases_or_sql_adapter(merged_dk, dk_dir, tmp_path):
    ws, conv_dir, conv = merged_dk
    oracle = Oracle(conv)
    out = tmp_path / "link"
    result = run_eval_with_oracle(oracle, merged_dk, dk_dir, "--db", str(tmp_path / "no_databases"), "--link-only",
                                  "--out", out, "--limit", "8")
    assert result.exit_code == 0, result.output
    assert not oracle.sql_prompts  # stage 2 never ran
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["linking"]["scored"] == 8 and metrics["linking"]["exact_set_accuracy"] == 1.0
    assert (out / "linking.png").read_bytes().startswith(b"\x89PNG")
    assert "| exact set | 100.00% |" in (out / "report.md").read_text()


def test_link_only_scores_a_full_schema_link_model(merged_dk, dk_dir, tmp_path):
    ws, conv_dir, conv = merged_dk
    oracle = Oracle(conv)
    out = tmp_path / "full"
    result = run_eval_with_oracle(oracle, merged_dk, dk_dir, "--link-only", "--full-schema-link",
                                  "--out", out, "--limit", "5")
    assert result.exit_code == 0, result.output
    preds = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert all(len(p["link_answers"]) == 1 and len(p["slices"]) == 1 for p in preds)
    # the prompt is the full_schema_link training prompt: the whole pseudo-database, no "part i of n"
    training = {r["instruction"] + "\n" + r["input"] for r in json.loads((conv_dir / "full_schema_link.json").read_text())}
    assert len(oracle.link_prompts) == 5 and all(p in training for p in oracle.link_prompts)
    assert json.loads((out / "metrics.json").read_text())["linking"]["exact_set_accuracy"] == 1.0


def test_dataset_settings_conflicting_flag_exits_2_naming_both_values(merged_dk, dk_dir, tmp_path):
    ws, conv_dir, _ = merged_dk
    result = CliRunner().invoke(eval_main, [
        "--engine", "openai", "--api-base", "http://127.0.0.1:9/v1", "--dataset", str(conv_dir),
        "--tables-per-slice", "5", "--spider-dir", str(dk_dir), "--questions", str(ws / "questions.json"),
        "--out", str(tmp_path / "o"),
    ])
    assert result.exit_code == 2
    assert "--tables-per-slice 5 conflicts with the conversion's tables_per_slice = 4" in result.output
    # the same value given explicitly is fine
    given = {"dataset": str(conv_dir), "tables_per_slice": 4, "template": "qwen"}
    assert settings_from_dataset_and_adapters(given, {"tables_per_slice"})["tables_per_slice"] == 4


def test_changed_templates_are_refused(merged_dk, tmp_path):
    _, conv_dir, _ = merged_dk
    custom = tmp_path / "templates"
    custom.mkdir()
    (custom / "sql_generation.j2").write_text("Q: {{ question }}\n")
    given = {"dataset": str(conv_dir), "templates_dir": str(custom), "template": "qwen"}
    from lrsql_plugin.errors import InputError

    with pytest.raises(InputError, match="--templates-dir .* conflicts"):
        settings_from_dataset_and_adapters(given, {"templates_dir"})


def test_adapter_training_arguments_give_the_template_and_refuse_a_conflicting_one(tmp_path):
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "/models/base"}))
    (adapter / "training_args.yaml").write_text("template: llama3\nmodel_name_or_path: /models/base\n")
    given = {"schema_link_adapter": str(adapter), "template": "qwen", "base": None, "api_base": None}
    out = settings_from_dataset_and_adapters(given, set())
    assert out["template"] == "llama3" and out["base"] == "/models/base"
    from lrsql_plugin.errors import InputError

    with pytest.raises(InputError, match="trained with template 'llama3', but --template is 'qwen'"):
        settings_from_dataset_and_adapters(given, {"template"})


def test_manifest_prompts_are_the_training_prompts_token_for_token(dk_dir, tiny_model_dir, tmp_path):
    """A --tables-per-slice 2 conversion evaluated with --dataset: every inference prompt is a training prompt."""
    from lrsql_plugin.inference.engines.encoding import PromptEncoder
    from tests.inference.test_prompt_parity import llamafactory_prompt_ids

    out = tmp_path / "data"
    r = run_convert("spider", "--spider-dir", dk_dir, "--questions", "Spider-DK.json", "--limit", "6",
                    "--tables-per-slice", "2", "--out", out)
    assert r.exit_code == 0, r.output
    conv = [json.loads(line) for line in (out / "questions.jsonl").read_text().splitlines()]
    train_link = {tuple(ids) for ids in llamafactory_prompt_ids(tiny_model_dir, out, "lrsql_schema_link", "qwen")}
    train_sql = {tuple(ids) for ids in llamafactory_prompt_ids(tiny_model_dir, out, "lrsql_sql_generation", "qwen")}
    encoder = PromptEncoder(str(tiny_model_dir), "qwen")
    data = load_spider(dk_dir, questions=["Spider-DK.json"])

    class Recorder(Oracle):
        def generate(self, prompts, adapter, max_new_tokens):
            self.seen = [*getattr(self, "seen", []), *((adapter, tuple(encoder.encode(p))) for p in prompts)]
            return super().generate(prompts, adapter, max_new_tokens)

    with_manifest = Recorder(conv)
    run_inference(data, _args(out, limit=6), tmp_path / "a", engine=with_manifest, progress=False)
    link = [ids for a, ids in with_manifest.seen if a == SCHEMA_LINK]
    sql = [ids for a, ids in with_manifest.seen if a == SQL_GENERATION]
    assert len(link) > 6 and len(sql) == 6
    assert all(ids in train_link for ids in link) and all(ids in train_sql for ids in sql)
    # the per-flag form with the default slice size (5) would have produced other prompts
    without = Recorder(conv)
    args = InferenceArguments(engine="openai", api_base="http://unused/v1", limit=6)
    run_inference(data, args, tmp_path / "b", engine=without, progress=False)
    assert not all(ids in train_link for a, ids in without.seen if a == SCHEMA_LINK)


def test_gold_tables_mode_keeps_working_with_a_merged_dataset(merged_dk, dk_dir, tmp_path):
    _, _, conv = merged_dk
    oracle = Oracle(conv)
    out = tmp_path / "gold"
    result = run_eval_with_oracle(oracle, merged_dk, dk_dir, "--gold-tables", "--out", out, "--limit", "6")
    assert result.exit_code == 0, result.output
    assert not oracle.link_prompts  # no linking at all
    preds = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    by_question = {q["question"]: q for q in conv}
    for p in preds:
        assert p["link_answers"] == [] and sorted(p["linked_tables"]) == sorted(by_question[p["question"]]["gold_tables"])
    assert json.loads((out / "metrics.json").read_text())["overall"]["ex"] == 1.0
