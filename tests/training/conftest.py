"""Fixtures for training tests: a launch directory laid out like a user's."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.training.helpers import LRSQL_CONVERT, QUESTION_LIMIT, REPO_ROOT


@pytest.fixture(scope="session")
def lrsql_workspace(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    """A launch directory as the README describes it: ``datasets/spider`` written by the real
    ``lrsql-convert`` from Spider-DK, and ``recipes/`` (the repository's, linked), so the recipes'
    relative ``dataset_dir`` and ``deepspeed`` paths resolve without overrides."""
    workspace = tmp_path_factory.mktemp("workspace")
    subprocess.run(
        [
            LRSQL_CONVERT,
            "spider",
            "--spider-dir",
            str(shared_data / "spider-dk"),
            "--questions",
            "Spider-DK.json",
            "--split",
            "dev",
            "--out",
            str(workspace / "datasets" / "spider"),
            "--limit",
            str(QUESTION_LIMIT),
            "--quiet",
        ],
        check=True,
        capture_output=True,
    )
    (workspace / "recipes").symlink_to(REPO_ROOT / "recipes", target_is_directory=True)
    return workspace
