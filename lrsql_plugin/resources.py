"""Where the shipped templates, recipes and demo dataset live.

In an installed wheel they are package data under ``lrsql_plugin/_data/``; in a source checkout
(or an editable install) they are the repository's top-level folders.
"""

from __future__ import annotations

from pathlib import Path

RESOURCES = ("templates", "recipes", "datasets")
_PACKAGE = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """The folder of a shipped resource: ``templates``, ``recipes`` or ``datasets``."""
    if name not in RESOURCES:
        raise ValueError(f"unknown resource {name!r}; expected one of {', '.join(RESOURCES)}")
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"lrsql resource folder {name!r} not found beside {_PACKAGE}")
