"""Any OpenAI-compatible server (``llamafactory-cli api``, ``vllm serve --enable-lora``).

Each adapter is reached at an endpoint and a model name: with vLLM one server serves both
(``--lora-modules schema_link=... sql_generation=...``, the model name picks the adapter); with
``llamafactory-cli api`` (one adapter per server) give each adapter its own base URL.  Requests
run concurrently, greedy (temperature 0), with retries and exponential back-off.

Retries are bounded: a request is tried at most ``retries + 1`` times (default 5, or
``$LRSQL_OPENAI_RETRIES + 1``), waiting ``backoff * 2**attempt`` seconds between tries (default 1 s,
``$LRSQL_OPENAI_BACKOFF``; at most 30 s a wait), each try at most ``request_timeout`` seconds.  Dropped
connections, timeouts, malformed answers and HTTP 408/409/429/5xx are retried; other HTTP errors
and a server that stays down end the run with an ``LrsqlError`` naming the server.  When one
request fails for good, the requests not yet started are cancelled.

Prompts are the training prompts token for token: with an ``encoder`` (``PromptEncoder``: the
LLaMA-Factory template of training and a local copy of the tokenizer, the hf engine's code path)
each prompt is rendered and encoded here and sent as token ids to ``/v1/completions`` (vLLM serves
it), with the template's stop token ids.  A server without that endpoint (``llamafactory-cli api``
answers 404) is asked through ``/v1/chat/completions`` instead, and a warning says once that the
server's chat template applies; so it is without an ``encoder``.

Requests of one call are sent in ``prefix_order`` (by token ids, or by prompt text without an
``encoder``): the slice-first prompts of one slice arrive together, so a server with prefix caching
(``vllm serve --enable-prefix-caching``, vLLM's default) computes each slice's schema about once —
at most ``concurrency`` times, by the first requests of the slice running side by side — and every
later prompt of that slice prefills only its question, evidence and memory.
"""

from __future__ import annotations

import http.client
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from lrsql_plugin.errors import LrsqlError
from lrsql_plugin.inference.engines.base import in_input_order, prefix_order
from lrsql_plugin.prompts.render import Prompt

RETRYABLE_STATUS = {408, 409, 429, 500, 502, 503, 504}
NO_ENDPOINT_STATUS = {404, 405}  # a server without /v1/completions (FastAPI: 404 unknown path, 405 wrong method)
MAX_BACKOFF = 30.0
CHAT_WARNING = (
    "lrsql-eval: warning: {why}: prompts go to {url} as chat messages, so the server's chat template applies "
    "(llamafactory-cli api: its --template), not LLaMA-Factory's rendering of the training prompts token for token"
)


class _NoCompletions(Exception):
    """The server answered 404/405 on /completions."""

    def __init__(self, code: int) -> None:
        self.code = code


def local_encoder(template: str | None, tokenizer: str | None) -> Any:
    """The ``PromptEncoder`` of ``template`` with ``tokenizer`` (a local folder or cached hub id), or None
    when either is missing (then prompts go as chat messages)."""
    if not template or not tokenizer:
        return None
    from lrsql_plugin.inference.engines.encoding import PromptEncoder

    return PromptEncoder(tokenizer, template)


def _env_number(name: str, default: float) -> float:
    try:
        return float(os.environ[name])
    except (KeyError, ValueError):
        return default


class OpenAIEngine:
    def __init__(
        self,
        endpoints: dict[str, tuple[str, str]],
        api_key: str = "EMPTY",
        concurrency: int = 8,
        retries: int | None = None,
        backoff: float | None = None,
        request_timeout: float = 300.0,
        encoder: Any = None,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        """``endpoints`` maps an adapter name to ``(base_url, model)``; base_url ends in ``/v1``.

        ``encoder``: a ``PromptEncoder`` (see the module docstring); ``warn`` prints a warning line
        (default: to standard error)."""
        self.endpoints = {k: (url.rstrip("/"), model) for k, (url, model) in endpoints.items()}
        self.encoder = encoder
        self.warn = warn or (lambda line: print(line, file=sys.stderr, flush=True))
        self.chat_only: set[str] = set()  # base URLs that answered 404/405 on /completions
        self._warned: set[str] = set()
        self._lock = threading.Lock()
        if encoder is None:
            self._say_once("*", CHAT_WARNING.format(
                why="no local chat template and tokenizer (give --template and --tokenizer or --base)",
                url="the server"))
        if retries is None:
            retries = int(_env_number("LRSQL_OPENAI_RETRIES", 4))
        if backoff is None:
            backoff = _env_number("LRSQL_OPENAI_BACKOFF", 1.0)
        self.api_key, self.concurrency, self.retries = api_key, concurrency, max(0, retries)
        self.backoff, self.request_timeout = max(0.0, backoff), request_timeout

    def generate(self, prompts: Sequence[Prompt], adapter: str, max_new_tokens: int) -> list[str]:
        if adapter not in self.endpoints:
            raise KeyError(f"no endpoint for adapter {adapter!r}")
        url, model = self.endpoints[adapter]
        ids: list[list[int] | None] = [None] * len(prompts)
        if self.encoder is not None:  # as the hf engine encodes (and cuts, with the manifest's cutoff_len)
            ids = [self.encoder.encode(p, max_new_tokens, adapter) for p in prompts]
        # prompts sharing a prefix (one slice's schema) are sent together: a prefix-caching server reuses it
        order = prefix_order(ids) if self.encoder is not None else sorted(
            range(len(prompts)), key=lambda i: (prompts[i].system, prompts[i].user, i))
        pool = ThreadPoolExecutor(self.concurrency)
        try:
            answers = pool.map(lambda i: self._complete(url, model, prompts[i], ids[i], max_new_tokens), order)
            return in_input_order(order, list(answers))
        finally:  # on a failure (or Ctrl-C) the requests not yet started are dropped, not retried
            pool.shutdown(wait=True, cancel_futures=True)

    def _say_once(self, key: str, line: str) -> None:
        with self._lock:
            if key in self._warned:
                return
            self._warned.add(key)
        self.warn(line)

    def _complete(self, url: str, model: str, prompt: Prompt, ids: list[int] | None, max_new_tokens: int) -> str:
        if ids is not None and url not in self.chat_only:
            body = {"model": model, "prompt": ids, "temperature": 0, "max_tokens": max_new_tokens,
                    "stop_token_ids": self.encoder.stop_token_ids}
            try:
                return self._request(url, "completions", body, lambda choice: choice["text"])
            except _NoCompletions as e:
                with self._lock:
                    self.chat_only.add(url)
                self._say_once(url, CHAT_WARNING.format(why=f"{url} has no /completions (HTTP {e.code})", url=url))
        body = {
            "model": model,
            "messages": [{"role": "system", "content": prompt.system}, {"role": "user", "content": prompt.user}],
            "temperature": 0,
            "max_tokens": max_new_tokens,
        }
        return self._request(url, "chat/completions", body, lambda choice: choice["message"]["content"])

    def _request(self, url: str, path: str, body: dict, content_of: Callable[[dict], Any]) -> str:
        request = urllib.request.Request(
            f"{url}/{path}",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.api_key}"},
        )
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            try:
                with urllib.request.urlopen(request, timeout=self.request_timeout) as resp:
                    payload = json.loads(resp.read())
                content = content_of(payload["choices"][0])
                if content is not None and not isinstance(content, str):
                    raise TypeError(f"content is {type(content).__name__}, not a string")
                return content or ""
            except urllib.error.HTTPError as e:
                if path == "completions" and e.code in NO_ENDPOINT_STATUS:
                    raise _NoCompletions(e.code) from e
                if e.code not in RETRYABLE_STATUS:
                    raise LrsqlError(f"{url}: HTTP {e.code}: {e.read()[:300]!r}") from e
                last = e
            except (urllib.error.URLError, http.client.HTTPException, OSError) as e:  # refused, dropped, timed out
                last = e
            except (ValueError, KeyError, IndexError, TypeError) as e:  # not an OpenAI chat completion
                last = ValueError(f"malformed answer ({type(e).__name__}: {e})")
            if attempt < self.retries:
                time.sleep(min(MAX_BACKOFF, self.backoff * 2**attempt))
        raise LrsqlError(f"{url}: no answer after {self.retries + 1} attempts ({last})")

    def close(self) -> None:
        pass
