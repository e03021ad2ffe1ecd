"""Atomic file writes: a temporary file in the target's folder, then ``os.replace``.

A reader never sees a half-written file, and a failed run leaves the previous file (or none).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give the file normal permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def read_utf8(path: str | Path) -> str:
    """The text of ``path``; a missing file or a byte that is not UTF-8 is an InputError naming the line."""
    from lrsql_plugin.errors import InputError

    path = Path(path)
    if not path.is_file():
        raise InputError(str(path), "file not found" if not path.exists() else "not a regular file")
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise InputError(str(path), f"cannot read ({e.strerror or e})") from e
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        column = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        raise InputError(
            str(path), f"not UTF-8 text (byte 0x{raw[e.start]:02x} at column {column})", record=f"line {line}"
        ) from e


def parse_json(path: str | Path, text: str) -> object:
    """``json.loads(text)``; a syntax error is an InputError naming ``path`` and the 1-based line."""
    import json

    from lrsql_plugin.errors import InputError

    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(str(path), f"not valid JSON ({e.msg}, column {e.colno})", record=f"line {e.lineno}") from e
    except RecursionError as e:
        raise InputError(str(path), "not valid JSON (nested too deeply)") from e
