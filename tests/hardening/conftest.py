"""Helpers for the hardening tests (issue 11): both CLIs in-process, the demo data, a copied workspace.

``no_traceback`` is the check every hostile-input test makes: the run ended with exit code 0 or 2
(never 1 from an uncaught exception), and nothing on stdout/stderr looks like a Python traceback.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from lrsql_plugin.cli.convert import main as convert_main
from lrsql_plugin.cli.evaluate import main as eval_main

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "datasets" / "demo"


def run_eval(*args: object) -> Result:
    return CliRunner().invoke(eval_main, [*map(str, args), "--no-progress"])


def run_convert(source: str, *args: object) -> Result:
    return CliRunner().invoke(convert_main, [source, *map(str, args), "--quiet"])


def no_traceback(result: Result, allowed: tuple[int, ...] = (0, 2)) -> None:
    """Exit 0 or 2, no exception escaped, no traceback text."""
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"uncaught {type(result.exception).__name__}: {result.exception}\n{result.output}"
    )
    assert result.exit_code in allowed, result.output
    assert "Traceback" not in result.output


@pytest.fixture
def demo_copy(tmp_path: Path) -> Path:
    """A private copy of the bundled demo dataset (Spider layout: tables.json, train/dev.json, database/)."""
    root = tmp_path / "demo"
    shutil.copytree(DEMO, root, ignore=shutil.ignore_patterns("*.py", "README.md"))
    return root
