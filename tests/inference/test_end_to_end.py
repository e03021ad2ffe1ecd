"""End to end on CPU: lrsql-convert on real Spider-DK -> both adapters trained by the recipes with a stock
llamafactory-cli -> lrsql-eval runs two-stage inference with them and evaluates. The numbers are
whatever the tiny model earns; every stage runs for real."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.training.helpers import CPU_OVERRIDES, LRSQL_CONVERT, train

VENV_BIN = Path(sys.executable).parent
LRSQL_EVAL = str(VENV_BIN / "lrsql-eval")
WITH_DATABASES = ("new_concert_singer", "new_orchestra", "new_pets_1")
OUTPUTS = ("predictions.jsonl", "timings.jsonl", "pred.sql", "metrics.json", "per_example.jsonl", "report.md")
DETERMINISTIC = ("predictions.jsonl", "pred.sql", "per_example.jsonl")


@pytest.fixture(scope="session")
def trained(tmp_path_factory, dk_dir, tiny_model_dir):
    """Workspace with converted data and the two adapters trained by the LoRA recipes."""
    ws = tmp_path_factory.mktemp("e2e")
    subprocess.run(
        [LRSQL_CONVERT, "spider", "--spider-dir", dk_dir, "--questions", "Spider-DK.json", "--limit", "24",
         "--tables-per-slice", "2", "--out", ws / "datasets/spider", "--quiet"],
        check=True, capture_output=True,
    )
    (ws / "recipes").symlink_to(Path(__file__).resolve().parents[2] / "recipes", target_is_directory=True)
    adapters = {}
    for recipe, name in (("schema_link_lora", "schema_link"), ("sql_generation_lora", "sql_generation")):
        out = ws / "saves" / name
        train(ws, recipe, [f"model_name_or_path={tiny_model_dir}", f"output_dir={out}", "max_steps=2",
                           "learning_rate=0.01", *CPU_OVERRIDES])
        assert (out / "adapter_model.safetensors").is_file()
        adapters[name] = out
    # questions on the three Spider-DK databases that ship with contents, as their own file
    questions = [q for q in json.loads((dk_dir / "Spider-DK.json").read_text()) if q["db_id"] in WITH_DATABASES]
    (ws / "dk_questions.json").write_text(json.dumps(questions))
    return ws, adapters


def eval_command(ws: Path, adapters: dict, model: Path, dk_dir: Path, out: Path, limit: int, *extra: str) -> list[str]:
    return [
        LRSQL_EVAL, "--base", str(model), "--schema-link-adapter", str(adapters["schema_link"]),
        "--sql-adapter", str(adapters["sql_generation"]), "--template", "qwen",
        "--spider-dir", str(dk_dir), "--questions", str(ws / "dk_questions.json"), "--limit", str(limit),
        "--tables-per-slice", "2", "--link-max-new-tokens", "6", "--sql-max-new-tokens", "12", "--timeout", "5", "--out", str(out), *extra,
    ]


def run(cmd: list[str]) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc


def test_lrsql_eval_runs_both_stages_and_writes_every_output(trained, tiny_model_dir, dk_dir, tmp_path):
    ws, adapters = trained
    out = tmp_path / "run"
    proc = run(eval_command(ws, adapters, tiny_model_dir, dk_dir, out, 10, "--batch-size", "4", "--dtype", "float32"))
    for name in OUTPUTS:
        assert (out / name).is_file(), name
    assert list(out.glob("*.png")), "EX chart"
    preds = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert [p["index"] for p in preds] == list(range(10))
    for p in preds:
        assert len(p["link_answers"]) == len(p["slices"]) == 2  # one schema-link answer per slice
        assert set(p["linked_tables"]) <= {t for s in p["slices"] for t in s}
        assert p["fallback"] == (not p["linked_tables"])
    assert (out / "pred.sql").read_text().count("\n") == 10
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["overall"]["total"] == 10
    assert "linking" in metrics and metrics["linking"]["count"] == 10
    per = [json.loads(line) for line in (out / "per_example.jsonl").read_text().splitlines()]
    assert [e["index"] for e in per] == list(range(10)) and all("match" in e and "reason" in e for e in per)
    assert "lrsql-eval inference" in proc.stderr  # the progress bar
    assert json.loads((out / "inference_settings.json").read_text())["dtype"] == "float32"
    assert '"dtype": "float32"' in (out / "report.md").read_text()


def test_gold_tables_mode_gives_the_sql_model_the_gold_tables(trained, tiny_model_dir, dk_dir, tmp_path):
    ws, adapters = trained
    out = tmp_path / "gold"
    run(eval_command(ws, adapters, tiny_model_dir, dk_dir, out, 4, "--gold-tables"))
    preds = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert preds[0]["link_answers"] == [] and preds[0]["linked_tables"] == ["singer"]
    assert json.loads((out / "metrics.json").read_text())["linking"] is None  # nothing was linked


def test_bird_layout_runs_with_evidence_and_bird_semantics(trained, tiny_model_dir, dk_dir, tmp_path):
    """The same adapters on a BIRD-layout folder (built from a Spider-DK database, with evidence):
    EX uses BIRD's set semantics and the buckets are BIRD's difficulty."""
    import shutil

    ws, adapters = trained
    bird = tmp_path / "bird"
    (bird / "dev_databases/new_concert_singer").mkdir(parents=True)
    shutil.copy(dk_dir / "database/new_concert_singer/new_concert_singer.sqlite", bird / "dev_databases/new_concert_singer")
    tables = [t for t in json.loads((dk_dir / "tables.json").read_text()) if t["db_id"] == "new_concert_singer"]
    (bird / "dev_tables.json").write_text(json.dumps(tables))
    questions = [q for q in json.loads((dk_dir / "Spider-DK.json").read_text()) if q["db_id"] == "new_concert_singer"][:4]
    (bird / "dev.json").write_text(json.dumps([
        {"question_id": i, "db_id": q["db_id"], "question": q["question"], "evidence": "singer means performer",
         "SQL": q["query"], "difficulty": ["simple", "moderate"][i % 2]}
        for i, q in enumerate(questions)
    ]))
    out = tmp_path / "out"
    run([LRSQL_EVAL, "--base", str(tiny_model_dir), "--schema-link-adapter", str(adapters["schema_link"]),
         "--sql-adapter", str(adapters["sql_generation"]), "--template", "qwen", "--bird-dir", str(bird),
         "--tables-per-slice", "2", "--link-max-new-tokens", "4", "--sql-max-new-tokens", "8", "--out", str(out)])
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["settings"]["semantics"] == "bird"
    assert metrics["bucket_kind"] == "difficulty" and set(metrics["buckets"]) == {"simple", "moderate"}
    assert metrics["overall"]["total"] == 4


def test_sigkill_then_resume_equals_an_uninterrupted_run(trained, tiny_model_dir, dk_dir, tmp_path):
    ws, adapters = trained
    full, killed = tmp_path / "full", tmp_path / "killed"
    args = ("--batch-size", "3", "--chunk-size", "2")  # appended two questions at a time
    run(eval_command(ws, adapters, tiny_model_dir, dk_dir, full, 16, *args))

    proc = subprocess.Popen(eval_command(ws, adapters, tiny_model_dir, dk_dir, killed, 16, *args),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    preds = killed / "predictions.jsonl"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if preds.exists() and preds.read_text().count("\n") >= 3:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = preds.read_text().count("\n")
    assert 3 <= done_before < 16
    assert not (killed / "metrics.json").exists()

    run(eval_command(ws, adapters, tiny_model_dir, dk_dir, killed, 16, *args, "--resume"))
    for name in DETERMINISTIC:
        assert (killed / name).read_bytes() == (full / name).read_bytes(), name
    a, b = (json.loads((d / "metrics.json").read_text()) for d in (full, killed))
    a.pop("seconds", None), b.pop("seconds", None)
    assert a["overall"] == b["overall"]
    assert len((killed / "timings.jsonl").read_text().splitlines()) == 16

    # resuming with settings that change results would mix two runs: refused, nothing touched
    before = (killed / "predictions.jsonl").read_bytes()
    proc = subprocess.run(eval_command(ws, adapters, tiny_model_dir, dk_dir, killed, 16, *args, "--resume",
                                       "--tables-per-slice", "3"), capture_output=True, text=True)
    assert proc.returncode == 2
    assert "cannot resume: settings differ from the interrupted run (tables_per_slice)" in proc.stderr
    assert (killed / "predictions.jsonl").read_bytes() == before


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_api(model: Path, adapter: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "API_HOST": "127.0.0.1", "API_PORT": str(port), "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen(
        [str(VENV_BIN / "llamafactory-cli"), "api", "--model_name_or_path", str(model), "--adapter_name_or_path",
         str(adapter), "--template", "qwen", "--finetuning_type", "lora"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )


def wait_ready(port: int, proc: subprocess.Popen, seconds: float = 180) -> None:
    import urllib.request

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, "llamafactory-cli api exited"
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2)
            return
        except OSError:
            time.sleep(0.5)
    pytest.fail("llamafactory-cli api did not come up")


def test_openai_engine_against_llamafactory_api_servers(trained, tiny_model_dir, dk_dir, tmp_path):
    """Two real OpenAI-compatible servers (llamafactory-cli api serves one adapter each)."""
    ws, adapters = trained
    ports = {name: free_port() for name in adapters}
    servers = {name: start_api(tiny_model_dir, adapters[name], ports[name]) for name in adapters}
    try:
        for name, server in servers.items():
            wait_ready(ports[name], server)
        out, ref = tmp_path / "api", tmp_path / "hf"
        cmd = eval_command(ws, adapters, tiny_model_dir, dk_dir, out, 6)
        cmd += ["--engine", "openai", "--api-base", f"http://127.0.0.1:{ports['schema_link']}/v1",
                "--sql-api-base", f"http://127.0.0.1:{ports['sql_generation']}/v1", "--concurrency", "3"]
        run(cmd)
        for name in OUTPUTS:
            assert (out / name).is_file(), name
        run(eval_command(ws, adapters, tiny_model_dir, dk_dir, ref, 6))
        api = [json.loads(x) for x in (out / "predictions.jsonl").read_text().splitlines()]
        hf = [json.loads(x) for x in (ref / "predictions.jsonl").read_text().splitlines()]
        assert [p["slices"] for p in api] == [p["slices"] for p in hf]
        assert [p["link_answers"] for p in api] == [p["link_answers"] for p in hf]  # same prompts, greedy
    finally:
        for server in servers.values():
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)


@pytest.mark.parametrize("layout", ["slice-first", "legacy"])
def test_lrsql_eval_dataset_gives_the_conversions_training_prompts_in_its_own_layout(
        trained, tiny_model_dir, dk_dir, tmp_path, monkeypatch, layout):
    """Issue 20: adapters trained 2 steps by the recipe on a (default) slice-first conversion, then
    ``lrsql-eval --dataset``: every first-slice prompt (memory still empty, as in the training samples)
    is token for token a training prompt of LLaMA-Factory's own preprocessing.  ``legacy``: a
    conversion folder of a version before layouts (question-first prompts, no ``prompt_layout`` in its
    manifest) is evaluated with its own question-first prompts."""
    from click.testing import CliRunner

    from lrsql_plugin.cli.evaluate import main as eval_main
    from lrsql_plugin.inference.engines.encoding import PromptEncoder
    from tests.inference.test_prompt_parity import llamafactory_prompt_ids

    ws, adapters = trained
    dataset = ws / "datasets/spider"
    assert json.loads((dataset / "manifest.json").read_text())["inference"]["prompt_layout"] == "slice-first"
    if layout == "legacy":
        dataset = tmp_path / "legacy"
        subprocess.run([LRSQL_CONVERT, "spider", "--spider-dir", dk_dir, "--questions", "Spider-DK.json", "--limit", "6",
                        "--tables-per-slice", "2", "--prompt-layout", "question-first", "--out", dataset, "--quiet"],
                       check=True, capture_output=True)
        manifest = json.loads((dataset / "manifest.json").read_text())
        del manifest["inference"]["prompt_layout"]
        (dataset / "manifest.json").write_text(json.dumps(manifest))
    sent: list[tuple[str, tuple[int, ...], str]] = []
    encode = PromptEncoder.encode

    def recording_encode(self, prompt, answer_tokens=0, adapter=""):  # the real encoder, its output kept
        ids = encode(self, prompt, answer_tokens, adapter)
        sent.append((adapter, tuple(ids), prompt.user))
        return ids

    monkeypatch.setattr(PromptEncoder, "encode", recording_encode)
    result = CliRunner().invoke(eval_main, [
        "--base", str(tiny_model_dir), "--schema-link-adapter", str(adapters["schema_link"]), "--template", "qwen",
        "--dataset", str(dataset), "--spider-dir", str(dk_dir), "--questions", str(dk_dir / "Spider-DK.json"),
        "--limit", "6", "--link-only", "--link-max-new-tokens", "4", "--dtype", "float32", "--out", str(tmp_path / "o"),
    ])
    assert result.exit_code == 0, result.output
    first = [(ids, user) for adapter, ids, user in sent if adapter == "schema_link" and "part 1 of" in user]
    assert len(first) == 6
    assert all(user.startswith("CREATE TABLE") == (layout == "slice-first") for _, user in first)
    train = {tuple(i) for i in llamafactory_prompt_ids(tiny_model_dir, dataset, "lrsql_schema_link", "qwen")}
    assert {ids for ids, _ in first} <= train
