"""Any OpenAI-compatible server (``llamafactory-cli api``, ``vllm serve --enable-lora``).

Each adapter is reached at an endpoint and a model name: with vLLM one server serves both
(``--lora-modules schema_link=... sql_generation=...``, the model name picks the adapter); with
``llamafactory-cli api`` (one adapter per server) give each adapter its own base URL.  Requests
run concurrently, greedy (temperature 0), with retries and exponential back-off.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from lrsql_plugin.errors import LrsqlError
from lrsql_plugin.prompts.render import Prompt

RETRYABLE_STATUS = {408, 409, 429, 500, 502, 503, 504}


class OpenAIEngine:
    def __init__(
        self,
        endpoints: dict[str, tuple[str, str]],
        api_key: str = "EMPTY",
        concurrency: int = 8,
        retries: int = 4,
        backoff: float = 1.0,
        request_timeout: float = 300.0,
    ) -> None:
        """``endpoints`` maps an adapter name to ``(base_url, model)``; base_url ends in ``/v1``."""
        self.endpoints = {k: (url.rstrip("/"), model) for k, (url, model) in endpoints.items()}
        self.api_key, self.concurrency, self.retries = api_key, concurrency, retries
        self.backoff, self.request_timeout = backoff, request_timeout

    def generate(self, prompts: Sequence[Prompt], adapter: str, max_new_tokens: int) -> list[str]:
        if adapter not in self.endpoints:
            raise KeyError(f"no endpoint for adapter {adapter!r}")
        url, model = self.endpoints[adapter]
        with ThreadPoolExecutor(self.concurrency) as pool:
            return list(pool.map(lambda p: self._complete(url, model, p, max_new_tokens), prompts))

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
                return payload["choices"][0]["message"]["content"] or ""
            except urllib.error.HTTPError as e:
                if e.code not in RETRYABLE_STATUS:
                    raise LrsqlError(f"{url}: HTTP {e.code}: {e.read()[:300]!r}") from e
                last = e
            except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
                last = e
            if attempt < self.retries:
                time.sleep(self.backoff * 2**attempt)
        raise LrsqlError(f"{url}: no answer after {self.retries + 1} attempts ({last})")

    def close(self) -> None:
        pass
