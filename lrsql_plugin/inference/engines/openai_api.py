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
"""

from __future__ import annotations

import http.client
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from lrsql_plugin.errors import LrsqlError
from lrsql_plugin.prompts.render import Prompt

RETRYABLE_STATUS = {408, 409, 429, 500, 502, 503, 504}
MAX_BACKOFF = 30.0


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
    ) -> None:
        """``endpoints`` maps an adapter name to ``(base_url, model)``; base_url ends in ``/v1``."""
        self.endpoints = {k: (url.rstrip("/"), model) for k, (url, model) in endpoints.items()}
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
        pool = ThreadPoolExecutor(self.concurrency)
        try:
            return list(pool.map(lambda p: self._complete(url, model, p, max_new_tokens), prompts))
        finally:  # on a failure (or Ctrl-C) the requests not yet started are dropped, not retried
            pool.shutdown(wait=True, cancel_futures=True)

    def _complete(self, url: str, model: str, prompt: Prompt, max_new_tokens: int) -> str:
        body = json.dumps(
            {
                "model": model,
                "messages": [{"role": "system", "content": prompt.system}, {"role": "user", "content": prompt.user}],
                "temperature": 0,
                "max_tokens": max_new_tokens,
            }
        ).encode()
        request = urllib.request.Request(
            f"{url}/chat/completions",
            data=body,
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.api_key}"},
        )
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            try:
                with urllib.request.urlopen(request, timeout=self.request_timeout) as resp:
                    payload = json.loads(resp.read())
                content = payload["choices"][0]["message"]["content"]
                if content is not None and not isinstance(content, str):
                    raise TypeError(f"content is {type(content).__name__}, not a string")
                return content or ""
            except urllib.error.HTTPError as e:
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
