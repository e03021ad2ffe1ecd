"""Checks both command-line tools make before any work starts, and their one error path.

- ``check_output_dir``: ``--out`` must be a folder (or creatable), writable, and free of another
  run's files unless ``--overwrite`` (or, for ``lrsql-eval`` inference, ``--resume``) is given;
  a problem is an ``OutputError`` (exit code 2) before anything is read or loaded.
- ``guarded_command`` / ``guarded_group``: click classes that turn the errors a user can fix into one
  line on stderr and an exit code, never a traceback: ``LrsqlError`` (bad input, bad output path,
  a model that cannot load, a server that stays down) exits 2, an ``OSError`` while writing (disk
  full, read-only file system) exits 1 naming the file, and Ctrl-C exits 130.
"""

from __future__ import annotations

import errno
import os
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

import click

from lrsql_plugin.errors import LrsqlError, OutputError

EXIT_INPUT = 2  # bad input, bad output path, bad model path: the user can fix it and rerun
EXIT_IO = 1  # the environment failed mid-run (disk full, read-only file system)
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)


def _probe_writable(folder: Path) -> str | None:
    """None when a file can be created in ``folder``, else the reason (works for root and read-only mounts)."""
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".lrsql-probe.")
    except OSError as e:
        return e.strerror or str(e)
    os.close(fd)
    os.unlink(tmp)
    return None


def check_output_dir(
    out: str | Path, produces: Iterable[str], *, option: str = "--out", overwrite: bool = False, resume: bool = False
) -> Path:
    """Check ``out`` before any work: a folder or creatable, writable, and holding none of ``produces``
    from an earlier run unless ``overwrite`` or ``resume``. Leftover temporary files of an interrupted
    atomic write (``.<name>.*.tmp``) are removed. Raises OutputError; returns ``out`` as a Path."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputError(f"{option} {out}: exists and is not a folder; give a folder (it is created if missing)")
    existing = out
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(f"{option} {out}: {existing} is a file, so the folder cannot be created")
    reason = _probe_writable(existing)
    if reason is not None:
        raise OutputError(f"{option} {out}: cannot write in {existing} ({reason})")
    if not out.is_dir():
        return out
    names = list(produces)
    stale = sorted(n for n in names if (out / n).exists())
    if stale and not (overwrite or resume):
        raise OutputError(
            f"{option} {out}: holds files of an earlier run ({', '.join(stale)}); "
            "pass --overwrite to replace them, or choose another folder"
        )
    for name in names:  # temporary files an interrupted atomic write left behind are always ours
        for tmp in out.glob(f".{name}.*.tmp"):
            tmp.unlink(missing_ok=True)
    return out


def remove_outputs(out: Path, names: Iterable[str]) -> None:
    """Remove earlier outputs that this run does not write (with --overwrite), so none is left stale."""
    for name in names:
        (out / name).unlink(missing_ok=True)


def _io_message(e: OSError) -> str:
    reason = e.strerror or str(e)
    if e.errno == errno.ENOSPC:
        reason += " (the disk is full)"
    elif e.errno == errno.EROFS:
        reason += " (the file system is read-only)"
    where = f"{e.filename}: " if e.filename else ""
    return f"{where}{reason}"


def _guarded_invoke(name: str, invoke, ctx: click.Context):  # noqa: ANN001, ANN202
    try:
        return invoke(ctx)
    except KeyboardInterrupt:
        click.echo(f"\n{name}: interrupted", err=True)
        sys.stderr.flush()
        ctx.exit(EXIT_INTERRUPTED)
    except LrsqlError as e:
        click.echo(f"{name}: error: {e}", err=True)
        ctx.exit(EXIT_INPUT)
    except OSError as e:
        click.echo(f"{name}: error: {_io_message(e)}", err=True)
        ctx.exit(EXIT_IO)


def guarded_command(tool: str) -> type[click.Command]:
    """A click command class whose expected failures end in one line ``<tool>: error: ...`` and an exit code."""

    class GuardedCommand(click.Command):
        def invoke(self, ctx: click.Context):  # noqa: ANN202
            return _guarded_invoke(tool, super().invoke, ctx)

    return GuardedCommand


def guarded_group(tool: str) -> type[click.Group]:
    """The group form of ``guarded_command`` (covers every sub-command)."""

    class GuardedGroup(click.Group):
        def invoke(self, ctx: click.Context):  # noqa: ANN202
            return _guarded_invoke(tool, super().invoke, ctx)

    return GuardedGroup
