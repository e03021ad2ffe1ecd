from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def dk_dir(shared_data: Path) -> Path:
    return shared_data / "spider-dk"
