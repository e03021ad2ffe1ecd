"""Running the stock ``llamafactory-cli`` and ``lrsql-convert`` of the test environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
LLAMAFACTORY_CLI = str(VENV_BIN / "llamafactory-cli")
LRSQL_CONVERT = str(VENV_BIN / "lrsql-convert")

#: What CPU needs beyond model path, output dir and step count: the recipes keep `bf16: true` for
#: GPUs, and transformers refuses bf16 without a GPU, so CPU runs train in float32. (`use_cpu=true`
#: would keep bf16 for single-process runs but routes a torchrun launch through accelerate's
#: multi-CPU path, where ZeRO-3 builds the model before DeepSpeed's communication is set up and fails
#: its batch-size check.) Nothing else differs: QLoRA (bitsandbytes 4-bit) and DeepSpeed ZeRO-2/3
#: run on CPU with the recipes' own settings.
CPU_OVERRIDES = ("bf16=false",)

#: Questions converted from Spider-DK: enough for a few optimizer steps, quick to tokenize.
QUESTION_LIMIT = 24


def read_dataset(workspace: Path, name: str) -> list[dict[str, str]]:
    """Rows of a dataset registered in the workspace's dataset_info.json."""
    folder = workspace / "datasets" / "spider"
    info = json.loads((folder / "dataset_info.json").read_text())
    return json.loads((folder / info[name]["file_name"]).read_text())


def train(
    workspace: Path, recipe: str, overrides: list[str], env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``llamafactory-cli train recipes/<recipe>.yaml <overrides>`` from ``workspace``.

    Fails the test with the end of LLaMA-Factory's output when training does not succeed.
    """
    proc = subprocess.run(
        [LLAMAFACTORY_CLI, "train", f"recipes/{recipe}.yaml", *overrides],
        cwd=workspace,
        # One intra-op thread: on a small shared CPU, torch's thread pool spinning against other
        # processes made 3 tiny steps take minutes. (torchrun sets the same for its workers.)
        env={"OMP_NUM_THREADS": "1", **os.environ, **(env or {})},
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        pytest.fail(
            f"llamafactory-cli train {recipe} exited {proc.returncode}:\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}"
        )
    return proc
