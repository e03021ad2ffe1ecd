"""Engine behaviour that needs no model: the OpenAI client's retries, and the vLLM extra's error."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lrsql_plugin.errors import LrsqlError
from lrsql_plugin.inference.engines import build_engine
from lrsql_plugin.prompts import Prompt


class FlakyServer(BaseHTTPRequestHandler):
    """An OpenAI-compatible endpoint that answers 503 to the first ``failures`` requests."""

    failures = 2
    status = 503
    seen: list[dict] = []

    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FlakyServer.seen.append(body)
        if len(FlakyServer.seen) <= FlakyServer.failures:
            self.send_response(FlakyServer.status)
            self.end_headers()
            return
        user = body["messages"][1]["content"]
        payload = json.dumps({"choices": [{"message": {"role": "assistant", "content": f"echo {user}"}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    FlakyServer.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FlakyServer)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()


def engine(url: str, retries: int):
    return build_engine("openai", endpoints={"sql_generation": (url, "sql-model")}, retries=retries, backoff=0.01)


def test_openai_engine_retries_transient_errors_and_keeps_order(server):
    FlakyServer.failures, FlakyServer.status = 2, 503
    prompts = [Prompt("sys", f"q{i}", "") for i in range(5)]
    assert engine(server, retries=3).generate(prompts, "sql_generation", 16) == [f"echo q{i}" for i in range(5)]
    first = FlakyServer.seen[0]
    assert first["model"] == "sql-model" and first["temperature"] == 0 and first["max_tokens"] == 16
    assert first["messages"][0] == {"role": "system", "content": "sys"}


def test_openai_engine_gives_up_with_a_clear_error(server):
    FlakyServer.failures, FlakyServer.status = 100, 503
    with pytest.raises(LrsqlError, match="no answer after 3 attempts"):
        engine(server, retries=2).generate([Prompt("s", "q", "")], "sql_generation", 8)


def test_openai_engine_does_not_retry_a_client_error(server):
    FlakyServer.failures, FlakyServer.status = 100, 400
    with pytest.raises(LrsqlError, match="HTTP 400"):
        engine(server, retries=5).generate([Prompt("s", "q", "")], "sql_generation", 8)
    assert len(FlakyServer.seen) == 1


def test_vllm_engine_names_the_extra_when_vllm_is_missing():
    pytest.importorskip("torch")
    try:
        import vllm  # noqa: F401

        pytest.skip("vllm is installed here")
    except ImportError:
        pass
    with pytest.raises(LrsqlError, match=r"pip install 'lrsql\[vllm\]'"):
        build_engine("vllm", base="unused", adapters={}, template="qwen")


def test_vllm_engine_enables_prefix_caching_and_sends_a_whole_wave_at_once(tiny_model_dir, monkeypatch):
    """A stand-in ``vllm`` module records what the engine asks of vLLM (vLLM itself needs a GPU)."""
    import sys
    import types

    calls: dict[str, object] = {}

    class LLM:
        def __init__(self, **kwargs):
            calls["llm"] = kwargs

        def generate(self, inputs, params, lora_request=None, use_tqdm=True):
            calls.setdefault("generate", []).append((len(inputs), lora_request))
            out = types.SimpleNamespace(text="singer")
            return [types.SimpleNamespace(outputs=[out]) for _ in inputs]

    vllm = types.ModuleType("vllm")
    vllm.LLM, vllm.SamplingParams = LLM, lambda **kw: kw
    lora, request = types.ModuleType("vllm.lora"), types.ModuleType("vllm.lora.request")
    request.LoRARequest = lambda name, i, path: (name, i, path)
    monkeypatch.setitem(sys.modules, "vllm", vllm)
    monkeypatch.setitem(sys.modules, "vllm.lora", lora)
    monkeypatch.setitem(sys.modules, "vllm.lora.request", request)

    engine = build_engine("vllm", base=str(tiny_model_dir), adapters={"schema_link": "/a"}, template="smollm2", dtype="bfloat16")
    assert calls["llm"]["enable_prefix_caching"] is True and calls["llm"]["dtype"] == "bfloat16"
    assert engine.generate([Prompt("s", f"q{i}", "") for i in range(40)], "schema_link", 8) == ["singer"] * 40
    assert calls["generate"] == [(40, ("schema_link", 1, "/a"))]
