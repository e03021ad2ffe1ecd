"""A local OpenAI-compatible server on 127.0.0.1 with injected failures, for the openai engine's tests.

Answers are a pure function of the request (so a killed and resumed run can be compared with an
uninterrupted one): the schema-link model answers ``None`` (nothing linked: the full-schema
fallback), the SQL model ``SELECT <crc32 of the prompt mod 97>``.  ``faults`` picks, per request
number, a fault: ``"500"`` (HTTP 500), ``"drop"`` (the connection is closed without an answer),
``"slow"`` (the answer comes after ``slow_seconds``), ``"down"`` (every request is dropped).

Both ``/v1/chat/completions`` and ``/v1/completions`` (a prompt of token ids, as vLLM serves it) are
answered; ``completions=False`` makes the server chat-only, like ``llamafactory-cli api`` (404 on
``/v1/completions``).  Every request body is kept in ``received`` as ``(path, body)``; a completions
prompt is turned into text for ``answer`` with ``decode`` (default: its JSON).
"""

from __future__ import annotations

import json
import threading
import zlib
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def answer_for(model: str, user: str) -> str:
    if model == "schema_link":
        return "None"
    return f"SELECT {zlib.crc32(user.encode()) % 97}"


class FakeOpenAI:
    def __init__(
        self,
        faults: Callable[[int], str | None] = lambda n: None,
        slow_seconds: float = 0.2,
        answer: Callable[[str, str], str] = answer_for,
        max_faults_per_prompt: int | None = None,
        completions: bool = True,
        decode: Callable[[list[int]], str] = json.dumps,
    ) -> None:
        self.faults, self.slow_seconds, self.answer = faults, slow_seconds, answer
        self.completions, self.decode = completions, decode
        self.received: list[tuple[str, dict]] = []
        # With concurrency, request numbers interleave: cap the failures one prompt can meet, so that a
        # client with that many retries must succeed (None: no cap, e.g. a server that stays down).
        self.max_faults_per_prompt = max_faults_per_prompt
        self.failed: Counter[tuple[str, str]] = Counter()
        self.lock = threading.Lock()
        self.requests = 0
        self.injected: Counter[str] = Counter()
        self.answered: Counter[tuple[str, str]] = Counter()  # (model, user prompt) -> 200 answers sent
        self.in_flight = self.max_in_flight = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                chat = self.path.endswith("/chat/completions")
                with server.lock:
                    server.received.append((self.path, body))
                if not chat and not server.completions:
                    self.send_error(404, "Not Found")
                    return
                user = (next(m["content"] for m in body["messages"] if m["role"] == "user") if chat
                        else server.decode(body["prompt"]))
                key = (body["model"], user)
                with server.lock:
                    n = server.requests
                    server.requests += 1
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                    fault = server.faults(n)
                    cap = server.max_faults_per_prompt
                    if fault in ("500", "drop") and cap is not None and server.failed[key] >= cap:
                        fault = None
                    if fault in ("500", "drop", "down"):
                        server.failed[key] += 1
                    if fault:
                        server.injected[fault] += 1
                # A request leaves the in-flight count just before its last byte is sent: once the
                # client has its answer it may send the next request at once, and counting after the
                # reply would see the old and the new one together (more than the client ever has open).
                left = False

                def leave() -> None:
                    nonlocal left
                    if not left:
                        left = True
                        with server.lock:
                            server.in_flight -= 1

                try:
                    if fault in ("drop", "down"):
                        self.close_connection = True
                        leave()
                        self.connection.shutdown(2)
                        return
                    if fault == "500":
                        leave()
                        self.send_error(500, "injected failure")
                        return
                    if fault == "slow":
                        threading.Event().wait(server.slow_seconds)
                    text = server.answer(body["model"], user)
                    choice = {"index": 0, "message": {"role": "assistant", "content": text}} if chat else {"index": 0, "text": text}
                    data = json.dumps({"choices": [choice]}).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    with server.lock:
                        server.answered[(body["model"], user)] += 1
                    leave()
                    self.end_headers()
                    self.wfile.write(data)
                finally:
                    leave()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> FakeOpenAI:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
