"""Fixtures for the evaluator tests: the real Spider / Spider-DK data, copied where a test could write.

Tests that use the data skip with a clear reason when ``../shared/data`` is absent.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from lrsql_plugin.evaluation import EvalItem, ExampleResult, evaluate
from lrsql_plugin.hparams.eval_args import EvalArguments

DK_DB_IDS = ("new_concert_singer", "new_orchestra", "new_pets_1")
BROKEN_GOLD = "SELECT DISTINCT T1.fname , T1.LName  T1.age FROM student AS T1 JOIN has_pet AS T2 ON T1.stuid  =  T2.stuid"


@pytest.fixture(scope="session")
def dk_questions(dk_dir: Path) -> list[dict]:
    """The 127 Spider-DK questions on the three databases shipped with contents."""
    data = json.loads((dk_dir / "Spider-DK.json").read_text(encoding="utf-8"))
    return [q for q in data if q["db_id"] in DK_DB_IDS]


@pytest.fixture
def dk_db_root(dk_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the three Spider-DK databases, so that a bug can never damage ../shared."""
    root = tmp_path / "database"
    for db_id in DK_DB_IDS:
        shutil.copytree(dk_dir / "database" / db_id, root / db_id)
    for f in root.rglob("*"):
        f.chmod(0o755 if f.is_dir() else 0o644)
    return root


def tree_hashes(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` (new files such as journals show up as new keys)."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def judge(dk_db_root: Path) -> Callable[..., ExampleResult]:
    """judge(db_id, gold, prediction, **settings) -> the verdict on one pair, run on the private copy."""

    def run(db_id: str, gold: str, prediction: str, **settings: object) -> ExampleResult:
        settings.setdefault("workers", 1)
        result = evaluate([EvalItem(db_id, gold, prediction)], dk_db_root, EvalArguments(**settings), progress=False)
        return result.examples[0]

    return run
