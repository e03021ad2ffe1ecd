"""Issue 11 (6): SIGKILL at random points, then rerun / --resume: outputs identical to an uninterrupted
run, no duplicates, nothing lost.  A read-only or full output file system gives a clear error."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.hardening.conftest import DEMO
from tests.hardening.fake_openai import FakeOpenAI

CONVERT = "from lrsql_plugin.cli.convert import main; main()"
EVAL = "from lrsql_plugin.cli.evaluate import main; main()"
KILLS = 4


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()} if folder.is_dir() else {}


def start(code: str, *args: object, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code, *map(str, args)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env={**os.environ, **(env or {})})


def kill_after(proc: subprocess.Popen, seconds: float) -> bool:
    """SIGKILL ``proc`` after ``seconds`` unless it ended first; True when it was killed."""
    try:
        proc.wait(timeout=seconds)
        return False
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        return True


def test_sigkill_during_convert_then_rerun_is_identical(tmp_path: Path):
    args = ["spider", "--spider-dir", DEMO, "--questions", "train.json", "--tables-per-slice", "4", "--orders", "3",
            "--quiet"]
    ref = tmp_path / "ref"
    started = time.monotonic()
    assert start(CONVERT, *args, "--out", ref).wait() == 0
    duration = time.monotonic() - started
    reference = files(ref)
    rng = random.Random(11)
    killed = 0
    for k in range(KILLS):
        out = tmp_path / f"run{k}"
        killed += kill_after(start(CONVERT, *args, "--out", out), rng.uniform(0.2, 1.0) * duration)
        # whatever the kill left is either absent or complete (atomic writes), never a torn file
        for name, data in files(out).items():
            assert name.startswith(".") or data == reference[name], f"torn {name}"
        proc = start(CONVERT, *args, "--out", out, "--overwrite")
        assert proc.wait() == 0, proc.stderr.read().decode()[-2000:]
        assert files(out) == reference
    assert killed >= 1
    print(f"\nconvert: {KILLS} runs, {killed} killed mid-run, all reruns identical")


def test_sigkill_during_inference_and_evaluation_then_resume_is_identical(tmp_path: Path):
    env = {"LRSQL_OPENAI_BACKOFF": "0.01"}
    with FakeOpenAI(lambda n: "slow" if n % 3 == 0 else None, slow_seconds=0.05) as server:
        args = ["--engine", "openai", "--api-base", server.url, "--spider-dir", DEMO, "--tables-per-slice", "4",
                "--batch-size", "2", "--concurrency", "2", "--no-progress"]
        ref = tmp_path / "ref"
        started = time.monotonic()
        proc = start(EVAL, *args, "--out", ref, env=env)
        assert proc.wait() == 0, proc.stderr.read().decode()[-2000:]
        duration = time.monotonic() - started
        reference = files(ref)
        rng = random.Random(12)
        killed = 0
        for k in range(KILLS):
            out = tmp_path / f"run{k}"
            killed += kill_after(start(EVAL, *args, "--out", out, env=env), rng.uniform(0.3, 1.0) * duration)
            proc = start(EVAL, *args, "--out", out, "--resume", env=env)
            assert proc.wait() == 0, proc.stderr.read().decode()[-2000:]
            got = files(out)
            indexes = [json.loads(x)["index"] for x in got["predictions.jsonl"].decode().splitlines()]
            assert indexes == sorted(set(indexes)) and len(indexes) == 21, "duplicates or lost records"
            for name in ("predictions.jsonl", "pred.sql", "per_example.jsonl"):
                assert got[name] == reference[name], name
            m_ref, m_got = json.loads(reference["metrics.json"]), json.loads(got["metrics.json"])
            assert m_got["overall"] == m_ref["overall"] and m_got["ex"] == m_ref["ex"]
    assert killed >= 1
    print(f"\ninference+evaluation: {KILLS} runs, {killed} killed mid-run, all resumed runs identical")


def _unshare_works() -> bool:
    try:
        return subprocess.run(["unshare", "-rm", "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.mark.skipif(not _unshare_works(), reason="needs `unshare -rm` (user + mount namespaces) to mount a small tmpfs")
@pytest.mark.parametrize("fs", ["read-only", "full"])
def test_read_only_or_full_output_filesystem_gives_a_clear_error(tmp_path: Path, fs: str):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    opts = "ro,size=1m" if fs == "read-only" else "size=64k"
    cmd = (f"mount -t tmpfs -o {opts} tmpfs {mnt} && exec {sys.executable} -c '{CONVERT}' spider --spider-dir {DEMO} "
           f"--questions train.json --tables-per-slice 4 --quiet --out {mnt}/ds")
    proc = subprocess.run(["unshare", "-rm", "sh", "-c", cmd], capture_output=True, text=True, timeout=300)
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    if fs == "read-only":
        assert proc.returncode == 2 and "cannot write in" in proc.stderr and "Read-only file system" in proc.stderr
    else:
        assert proc.returncode == 1 and "lrsql-convert: error:" in proc.stderr and "No space left on device" in proc.stderr
