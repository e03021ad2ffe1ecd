"""Issue 11 (2, 3): one error path, "FILE, line N: reason" / "FILE, record N: reason"; Ctrl-C exits 130;
models are checked before anything heavy loads."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

import lrsql_plugin.inference.run as inference_run
from tests.hardening.conftest import DEMO, no_traceback, run_convert, run_eval


def dev(n: int = 5) -> list[dict]:
    return json.loads((DEMO / "dev.json").read_text(encoding="utf-8"))[:n]


class TestUtf8AndLines:
    def test_non_utf8_tables_json_in_eval_names_file_and_line(self, tmp_path: Path):
        tables = tmp_path / "tables.json"
        raw = (DEMO / "tables.json").read_bytes()
        tables.write_bytes(raw.replace(b'"db_id"', b'"db_\xff"', 1))
        line = raw[: raw.index(b'"db_id"')].count(b"\n") + 1
        gold = tmp_path / "gold.txt"
        gold.write_text("".join(f"{q['query']}\t{q['db_id']}\n" for q in dev()))
        result = run_eval("--gold", gold, "--pred", gold, "--db", DEMO / "database", "--table", tables, "--out", tmp_path / "o")
        no_traceback(result)
        assert result.exit_code == 2
        assert f"lrsql-eval: error: {tables}, line {line}: not UTF-8 text (byte 0xff" in result.output
        assert not (tmp_path / "o" / "metrics.json").exists()

    def test_non_utf8_question_file_in_convert_names_file_and_line(self, demo_copy: Path, tmp_path: Path):
        questions = demo_copy / "dev.json"
        text = questions.read_text(encoding="utf-8").splitlines(keepends=True)
        text[7] = text[7].replace('"', '"\udcfe', 1)
        questions.write_bytes("".join(text).encode("utf-8", errors="surrogateescape"))
        result = run_convert("spider", "--spider-dir", demo_copy, "--questions", "dev.json", "--out", tmp_path / "o")
        no_traceback(result)
        assert result.exit_code == 2
        assert f"lrsql-convert: error: {questions}, line 8: not UTF-8 text (byte 0xfe" in result.output
        assert not (tmp_path / "o").exists()

    def test_json_syntax_error_names_the_line(self, demo_copy: Path, tmp_path: Path):
        (demo_copy / "tables.json").write_text('[\n  {"db_id": "x",\n  oops\n]')
        result = run_convert("spider", "--spider-dir", demo_copy, "--out", tmp_path / "o")
        assert result.exit_code == 2 and f"{demo_copy / 'tables.json'}, line 3: not valid JSON" in result.output

    def test_jsonl_question_skips_name_the_line(self, tmp_path: Path):
        q = tmp_path / "q.jsonl"
        q.write_text('{"db_id": "orchard_coop", "question": "How many growers?", "sql": "SELECT count(*) FROM growers"}\n\n'
                     '{"db_id": "orchard_coop", "question": 3, "sql": "SELECT 1"}\n')
        result = run_convert("sqlite", "--db-dir", DEMO / "database", "--questions", q, "--out", tmp_path / "o")
        assert result.exit_code == 0, result.output
        assert f"{q}, line 3: missing or non-string field(s): question" in result.output

    def test_one_non_utf8_prediction_is_scored_wrong_with_the_reason(self, tmp_path: Path):
        qs = dev(4)
        gold = tmp_path / "gold.txt"
        gold.write_text("".join(f"{q['query']}\t{q['db_id']}\n" for q in qs))
        pred = tmp_path / "pred.txt"
        lines = [q["query"].encode() for q in qs]
        lines[2] = lines[2][:10] + b"\xc3\x28" + lines[2][10:]  # an invalid two-byte sequence
        pred.write_bytes(b"\n".join(lines) + b"\n")
        out = tmp_path / "o"
        result = run_eval("--gold", gold, "--pred", pred, "--db", DEMO / "database", "--out", out)
        no_traceback(result)
        assert result.exit_code == 0, result.output
        rows = [json.loads(x) for x in (out / "per_example.jsonl").read_text().splitlines()]
        assert [r["match"] for r in rows] == [True, True, False, True]
        assert rows[2]["reason"].startswith("prediction error: ")
        assert "prediction is not valid UTF-8 (byte 0xc3 at character 11)" in json.dumps(rows[2])

    def test_non_utf8_prediction_in_jsonl_and_bird_json(self, tmp_path: Path):
        q = dev(2)
        jsonl = tmp_path / "p.jsonl"
        recs = [json.dumps({"db_id": x["db_id"], "gold": x["query"], "prediction": x["query"]}).encode() for x in q]
        recs[1] = recs[1].replace(b'"prediction": "SELECT', b'"prediction": "\xffSELECT')
        jsonl.write_bytes(b"\n".join(recs) + b"\n")
        out = tmp_path / "o"
        result = run_eval("--jsonl", jsonl, "--db", DEMO / "database", "--out", out)
        assert result.exit_code == 0, result.output
        rows = [json.loads(x) for x in (out / "per_example.jsonl").read_text().splitlines()]
        assert rows[0]["match"] and rows[1]["reason"].startswith("prediction error: prediction is not valid UTF-8")
        # the gold field itself is not UTF-8: an input error naming the line
        recs[1] = recs[1].replace(b'"gold": "SELECT', b'"gold": "\xfeSELECT')
        jsonl.write_bytes(b"\n".join(recs) + b"\n")
        bad = run_eval("--jsonl", jsonl, "--db", DEMO / "database", "--out", tmp_path / "o2")
        assert bad.exit_code == 2 and f"{jsonl}, line 2: field 'gold' is not valid UTF-8" in bad.output
        # BIRD's prediction JSON
        gold = tmp_path / "dev.json"
        gold.write_text(json.dumps(q))
        bird = tmp_path / "predict_dev.json"
        bird.write_bytes(b'{"0": "' + q[0]["query"].encode() + b'", "1": "SELECT \xff"}')
        result = run_eval("--gold", gold, "--pred", bird, "--db", DEMO / "database", "--out", tmp_path / "o3")
        assert result.exit_code == 0, result.output
        rows = [json.loads(x) for x in (tmp_path / "o3" / "per_example.jsonl").read_text().splitlines()]
        assert [r["match"] for r in rows] == [True, False] and "not valid UTF-8" in rows[1]["reason"]


class TestInterrupt:
    def test_ctrl_c_during_evaluation_exits_130(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
        import lrsql_plugin.cli.evaluate as cli

        def interrupted(*a: object, **k: object) -> None:
            raise KeyboardInterrupt

        monkeypatch.setattr(cli, "evaluate", interrupted)
        gold = tmp_path / "gold.txt"
        gold.write_text("".join(f"{q['query']}\t{q['db_id']}\n" for q in dev()))
        result = run_eval("--gold", gold, "--pred", gold, "--db", DEMO / "database", "--out", tmp_path / "o")
        assert result.exit_code == 130 and "lrsql-eval: interrupted" in result.output

    def test_ctrl_c_during_conversion_exits_130(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
        import lrsql_plugin.convert as conv

        def interrupted(*a: object, **k: object) -> None:
            raise KeyboardInterrupt

        monkeypatch.setattr(conv, "convert", interrupted)
        result = run_convert("spider", "--spider-dir", DEMO, "--questions", "dev.json", "--out", tmp_path / "o")
        assert result.exit_code == 130 and "lrsql-convert: interrupted" in result.output


def make_adapter(folder: Path, base: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": base, "peft_type": "LORA"}))
    (folder / "adapter_model.safetensors").write_bytes(b"\0")
    return folder


def make_base(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    (folder / "tokenizer.json").write_text("{}")
    return folder


class TestFailFast:
    """Each case must fail in well under a second, before the engine (model loading) is reached."""

    @pytest.fixture(autouse=True)
    def no_engine(self, monkeypatch: pytest.MonkeyPatch) -> None:
        def forbidden(*a: object, **k: object) -> None:
            raise AssertionError("the engine was built before the model paths were checked")

        monkeypatch.setattr(inference_run, "engine_from_arguments", forbidden)

    def infer(self, tmp_path: Path, base: object, link: object, sql: object, *extra: object):  # noqa: ANN201
        started = time.monotonic()
        result = run_eval("--base", base, "--schema-link-adapter", link, "--sql-adapter", sql, "--spider-dir", DEMO,
                          "--out", tmp_path / "out", *extra)
        no_traceback(result)
        assert time.monotonic() - started < 10
        assert result.exit_code == 2, result.output
        return result

    def test_missing_adapter(self, tmp_path: Path):
        base = make_base(tmp_path / "base")
        sql = make_adapter(tmp_path / "sql", str(base))
        result = self.infer(tmp_path, base, tmp_path / "nope", sql, "--template", "smollm2")
        assert f"--schema-link-adapter {tmp_path / 'nope'}: no such folder" in result.output

    def test_adapter_without_config_or_weights(self, tmp_path: Path):
        base = make_base(tmp_path / "base")
        (tmp_path / "empty").mkdir()
        sql = make_adapter(tmp_path / "sql", str(base))
        result = self.infer(tmp_path, base, tmp_path / "empty", sql, "--template", "smollm2")
        assert "no adapter_config.json" in result.output
        (sql / "adapter_model.safetensors").unlink()
        result = self.infer(tmp_path, base, sql, sql, "--template", "smollm2")
        assert "no adapter weights" in result.output

    def test_adapter_trained_on_another_base(self, tmp_path: Path):
        base = make_base(tmp_path / "base")
        link = make_adapter(tmp_path / "link", "Qwen/Qwen2.5-Coder-7B-Instruct")
        sql = make_adapter(tmp_path / "sql", str(base))
        result = self.infer(tmp_path, base, link, sql, "--template", "smollm2")
        assert "says it was trained on 'Qwen/Qwen2.5-Coder-7B-Instruct'" in result.output
        assert f"but --base is '{base}'" in result.output

    def test_base_folder_that_is_not_a_model(self, tmp_path: Path):
        base = tmp_path / "base"
        base.mkdir()
        sql = make_adapter(tmp_path / "sql", str(base))
        result = self.infer(tmp_path, base, sql, sql, "--template", "smollm2")
        assert "holds no config.json" in result.output
        result = self.infer(tmp_path, tmp_path / "gone", sql, sql, "--template", "smollm2")
        assert "no such folder" in result.output or "trained on" in result.output

    def test_without_dataset_the_slicing_is_not_guessed(self, tmp_path: Path):
        base = make_base(tmp_path / "base")
        sql = make_adapter(tmp_path / "sql", str(base))
        result = self.infer(tmp_path, base, sql, sql, "--template", "smollm2")
        assert "inference does not guess the slicing" in result.output and "--dataset" in result.output

    def test_unknown_template(self, tmp_path: Path):
        base = make_base(tmp_path / "base")
        sql = make_adapter(tmp_path / "sql", str(base))
        result = self.infer(tmp_path, base, sql, sql, "--template", "qwen-typo")
        assert "--template qwen-typo: not a LLaMA-Factory chat template" in result.output

    def test_offline_hub_id_fails_at_once_with_a_hint(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
        monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # an empty cache
        sql = make_adapter(tmp_path / "sql", "someorg/some-model")
        result = self.infer(tmp_path, "someorg/some-model", sql, sql, "--template", "smollm2")
        assert "HF_HUB_OFFLINE is set" in result.output and "pass the local folder to --base" in result.output

    def test_unreachable_hub_fails_fast_without_the_offline_flag(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
        monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens: refused at once
        monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
        base = make_base(tmp_path / "base")
        sql = make_adapter(tmp_path / "sql", str(base))
        result = self.infer(tmp_path, base, sql, sql, "--template", "smollm2", "--tokenizer", "someorg/tok")
        assert "--tokenizer someorg/tok" in result.output and "cannot be reached" in result.output

    def test_convert_tokenizer_offline(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
        monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
        started = time.monotonic()
        result = run_convert("spider", "--spider-dir", DEMO, "--tokenizer", "Qwen/Qwen2.5-7B", "--out", tmp_path / "o")
        assert time.monotonic() - started < 5
        assert result.exit_code == 2 and "--tokenizer Qwen/Qwen2.5-7B" in result.output and "local folder" in result.output
        missing = run_convert("spider", "--spider-dir", DEMO, "--tokenizer", str(tmp_path / "tok"), "--out", tmp_path / "o")
        assert missing.exit_code == 2 and "no such folder" in missing.output


def test_no_model_loads_when_paths_are_fine_but_template_is_shared(tmp_path: Path):
    """The template check reads LLaMA-Factory's source; it must know the templates the recipes use."""
    from lrsql_plugin.inference.preflight import llamafactory_templates

    names = llamafactory_templates()
    if names is None:
        pytest.skip("LLaMA-Factory is not installed")
    assert {"qwen", "smollm2", "llama3"} <= set(names)
    assert shutil.which  # keep the import used
