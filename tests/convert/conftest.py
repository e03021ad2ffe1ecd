from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from lrsql_plugin.cli.convert import main as convert_main

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = (REPO / ".." / "shared" / "data").resolve()
DEMO = REPO / "datasets" / "demo"


def _shared(sub: str) -> Path:
    path = SHARED_DATA / sub
    if not path.exists():
        pytest.skip(f"real data not available: {path} is absent (../shared/data lies beside the repository)")
    return path


@pytest.fixture(scope="session")
def spider_dir() -> Path:
    return _shared("spider")


@pytest.fixture(scope="session")
def dk_dir() -> Path:
    return _shared("spider-dk")


def run_convert(*args: str):
    """Invoke ``lrsql-convert`` in-process; returns click's Result (exit_code, output)."""
    return CliRunner().invoke(convert_main, [*map(str, args), "--quiet"], catch_exceptions=False)


@pytest.fixture(scope="session")
def spider_dev_out(spider_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("spider_dev")
    result = run_convert("spider", "--spider-dir", spider_dir, "--split", "dev", "--out", out)
    assert result.exit_code == 0, result.output
    return out
