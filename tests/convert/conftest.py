from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from lrsql_plugin.cli.convert import main as convert_main

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "datasets" / "demo"


def run_convert(*args: str):
    """Invoke ``lrsql-convert`` in-process; returns click's Result (exit_code, output)."""
    return CliRunner().invoke(convert_main, [*map(str, args), "--quiet"], catch_exceptions=False)


@pytest.fixture(scope="session")
def spider_dev_out(spider_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("spider_dev")
    result = run_convert("spider", "--spider-dir", spider_dir, "--split", "dev", "--out", out)
    assert result.exit_code == 0, result.output
    return out
