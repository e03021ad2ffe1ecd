"""Evaluating prediction files never imports the training stack, so ``lrsql-eval`` starts fast."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

HEAVY = ("torch", "transformers", "datasets", "llamafactory")

PROBE = """
import json, sys
from lrsql_plugin.cli.evaluate import main
try:
    main(sys.argv[1:], standalone_mode=False)
finally:
    print("HEAVY=" + json.dumps([m for m in {heavy!r} if m in sys.modules]))
"""


def test_cli_run_on_a_tiny_input_imports_no_heavy_package(dk_dir: Path, tmp_path: Path):
    jsonl = tmp_path / "items.jsonl"
    jsonl.write_text(json.dumps({"db_id": "new_pets_1", "question": "How many pets?", "gold": "SELECT count(*) FROM Pets",
                                 "prediction": "SELECT count(*) FROM Pets"}) + "\n", encoding="utf-8")
    args = ["--jsonl", str(jsonl), "--db", str(dk_dir / "database"), "--out", str(tmp_path / "out"), "--no-progress"]
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY), *args], capture_output=True, text=True,
                          timeout=120)
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert "HEAVY=[]" in done.stdout, done.stdout
    assert "EX 100.00%" in done.stdout
    assert (tmp_path / "out" / "metrics.json").is_file()
    assert elapsed < 10, f"lrsql-eval on one prediction took {elapsed:.1f} s"


def test_importing_the_evaluation_package_imports_no_heavy_package():
    code = "import sys, lrsql_plugin.evaluation, lrsql_plugin.cli.evaluate; print([m for m in %r if m in sys.modules])"
    done = subprocess.run([sys.executable, "-c", code % (HEAVY,)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_console_script_help_works():
    script = Path(sys.executable).with_name("lrsql-eval")
    if not script.exists():
        pytest.skip(f"console script {script} is not installed in this environment")
    done = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    for flag in ("--gold", "--pred", "--db", "--table", "--etype", "--out", "--keep-distinct", "--semantics",
                 "--timeout", "--workers", "--max-rows", "--jsonl", "--spider-dir", "--bird-dir"):
        assert flag in done.stdout
