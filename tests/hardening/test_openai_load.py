"""Issue 11 (7): the openai engine under concurrency against a local server on 127.0.0.1 that drops
connections, answers HTTP 500 and answers slowly: every question answered exactly once, retries
bounded, and a server that stays down ends the run with a clear error (exit 2), in bounded time."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from lrsql_plugin.errors import LrsqlError
from lrsql_plugin.hparams.infer_args import InferenceArguments
from lrsql_plugin.inference.engines.openai_api import OpenAIEngine
from lrsql_plugin.inference.run import run_inference
from lrsql_plugin.prompts.render import Prompt
from lrsql_plugin.sources.spider import load_spider
from tests.hardening.conftest import DEMO, run_eval
from tests.hardening.fake_openai import FakeOpenAI, answer_for

RETRIES = 4


def faults(n: int) -> str | None:
    """About one request in three fails: HTTP 500, a dropped connection, or a slow answer."""
    return {1: "500", 4: "drop", 7: "slow", 9: "500", 10: "drop"}.get(n % 11)


def test_many_prompts_concurrently_each_answered_once():
    prompts = [Prompt(system="s", instruction=f"question {i}", input="") for i in range(600)]
    with FakeOpenAI(faults, slow_seconds=0.3, max_faults_per_prompt=RETRIES) as server:
        engine = OpenAIEngine({"sql_generation": (server.url, "sql_generation")}, concurrency=16, retries=RETRIES,
                              backoff=0.01, request_timeout=5)
        started = time.monotonic()
        answers = engine.generate(prompts, "sql_generation", 8)
        seconds = time.monotonic() - started
    assert answers == [answer_for("sql_generation", p.user) for p in prompts]
    assert all(server.answered[("sql_generation", p.user)] == 1 for p in prompts), "a prompt was answered twice"
    failures = sum(server.injected[k] for k in ("500", "drop"))
    assert server.requests == len(prompts) + failures  # each failure cost exactly one retry, no more
    assert server.max_in_flight <= 16
    assert seconds < 60
    print(f"\nload: {server.requests} requests, {len(prompts)} prompts answered once, faults injected "
          f"{dict(server.injected)}, max {server.max_in_flight} in flight, {seconds:.1f} s")


def test_inference_through_the_pipeline_answers_every_question_exactly_once(tmp_path: Path):
    data = load_spider(DEMO, "dev")
    args = InferenceArguments(engine="openai", api_base="http://unused/v1", concurrency=8, batch_size=4,
                              tables_per_slice=4)
    with FakeOpenAI(faults, slow_seconds=0.2, max_faults_per_prompt=RETRIES) as server:
        engine = OpenAIEngine({"schema_link": (server.url, "schema_link"), "sql_generation": (server.url, "sql_generation")},
                              concurrency=8, retries=RETRIES, backoff=0.01, request_timeout=5)
        records = run_inference(data, args, tmp_path, engine=engine, progress=False)
    lines = (tmp_path / "predictions.jsonl").read_text(encoding="utf-8").splitlines()
    indexes = [json.loads(x)["index"] for x in lines]
    assert sorted(indexes) == list(range(len(data.examples))) and len(records) == len(data.examples)
    assert len((tmp_path / "pred.sql").read_text().splitlines()) == len(data.examples)
    assert sum(server.injected.values()) > 0
    print(f"\npipeline load: {len(data.examples)} questions answered once, {server.requests} requests, "
          f"faults {dict(server.injected)}")


def test_server_that_stays_down_is_a_clear_error_in_bounded_time():
    with FakeOpenAI(lambda n: "down") as server:
        engine = OpenAIEngine({"sql_generation": (server.url, "sql_generation")}, concurrency=4, retries=RETRIES,
                              backoff=0.01, request_timeout=2)
        started = time.monotonic()
        with pytest.raises(LrsqlError, match=rf"{server.url}: no answer after {RETRIES + 1} attempts"):
            engine.generate([Prompt("s", f"q{i}", "") for i in range(40)], "sql_generation", 8)
        assert time.monotonic() - started < 20
    # pending requests were cancelled after the first failure: far fewer than 40 prompts x 5 attempts
    assert server.requests < 40 * (RETRIES + 1)


def test_cli_with_server_down_exits_2_with_the_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("LRSQL_OPENAI_RETRIES", "2")
    monkeypatch.setenv("LRSQL_OPENAI_BACKOFF", "0.01")
    with FakeOpenAI(lambda n: "500") as server:
        result = run_eval("--engine", "openai", "--api-base", server.url, "--spider-dir", DEMO, "--tables-per-slice", "4",
                          "--out", tmp_path / "out", "--limit", "3")
    assert result.exit_code == 2, result.output
    assert f"lrsql-eval: error: {server.url}: no answer after 3 attempts" in result.output
    assert "Traceback" not in result.output
    # what finished before the failure stays, for --resume: never a half-written line
    preds = tmp_path / "out" / "predictions.jsonl"
    assert not preds.exists() or all(json.loads(x) for x in preds.read_text().splitlines())
