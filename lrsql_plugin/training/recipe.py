"""Override a few keys of a recipe without forking it: the YAML stays the single source of truth.

Most users never need this module: ``llamafactory-cli train recipe.yaml key=value ...`` already
merges overrides. It serves Python callers that want the merged configuration checked before a
long run, or written to a file:

    config = load_recipe(recipe_path("schema_link_qlora"), ["model_name_or_path=/models/qwen"])
    validate_recipe(config)                      # unknown keys, wrong types: RecipeError
    merged = write_recipe(config)                # a temporary YAML file, written atomically
    subprocess.run(train_command(merged), check=True)

Recipes and overrides are read exactly as LLaMA-Factory reads them (OmegaConf: YAML 1.1 scalars,
so an unquoted ``no`` is the boolean false) and validated with LLaMA-Factory's own argument
dataclasses and ``HfArgumentParser``.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import shutil
import subprocess
import sys
import tempfile
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from lrsql_plugin.errors import LrsqlError
from lrsql_plugin.files import atomic_write_text
from lrsql_plugin.resources import resource_dir


class RecipeError(LrsqlError):
    """A recipe or an override that LLaMA-Factory would reject."""


def recipe_path(name: str) -> Path:
    """The shipped recipe ``name`` (with or without ``.yaml``), from a wheel or a source checkout."""
    folder = resource_dir("recipes")
    path = folder / (name if name.endswith(".yaml") else f"{name}.yaml")
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in folder.glob("*.yaml")))
        raise RecipeError(f"no recipe {name!r} in {folder}; shipped recipes: {known}")
    return path


def load_recipe(path: str | Path, overrides: Sequence[str] = ()) -> dict[str, Any]:
    """Read a recipe YAML and merge ``key=value`` overrides the way ``llamafactory-cli train`` does."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    for item in overrides:
        key, sep, _ = item.partition("=")
        if not sep or not key.strip():
            raise RecipeError(f"override {item!r} is not of the form key=value")
    try:
        merged = OmegaConf.merge(OmegaConf.load(Path(path)), OmegaConf.from_cli(list(overrides)))
    except (OmegaConfBaseException, yaml.YAMLError) as exc:
        raise RecipeError(f"{path}: {exc}") from exc
    config = OmegaConf.to_container(merged)
    if not isinstance(config, dict):
        raise RecipeError(f"{path}: a recipe must be a mapping of keys to values")
    return config


def validate_recipe(config: Mapping[str, Any]) -> None:
    """Check a training configuration against LLaMA-Factory's own argument parser.

    Raises RecipeError for keys LLaMA-Factory does not know (with the closest known key), for
    values of the wrong type (such as an unquoted ``no`` where a string is expected) and for
    anything the argument dataclasses themselves reject. Checks that depend on how training is
    launched (DeepSpeed needs ``FORCE_TORCHRUN=1``) or on the hardware (``bf16`` needs a GPU or
    ``use_cpu: true``) are LLaMA-Factory's at launch time; the latter does surface here, as
    transformers checks it when its arguments are built.
    """
    from transformers import HfArgumentParser

    fields = _train_fields()
    unknown = [key for key in config if key not in fields]
    if unknown:
        hints = []
        for key in unknown:
            close = difflib.get_close_matches(key, fields, n=1)
            hints.append(f"{key!r} (did you mean {close[0]!r}?)" if close else repr(key))
        raise RecipeError(f"unknown key(s) for llamafactory-cli train: {', '.join(hints)}")
    wrong = [
        f"{key}: expected {_describe(fields[key])}, got {type(value).__name__} {value!r}"
        + (" (an unquoted no/yes/off/on is a YAML boolean: quote it)" if isinstance(value, bool) else "")
        for key, value in config.items()
        if not _matches(value, fields[key])
    ]
    if wrong:
        raise RecipeError("wrong value type(s): " + "; ".join(wrong))
    try:
        HfArgumentParser(_train_dataclasses()).parse_dict(dict(config), allow_extra_keys=False)
    except (ValueError, TypeError) as exc:
        raise RecipeError(f"LLaMA-Factory rejects the configuration: {exc}") from exc


def write_recipe(config: Mapping[str, Any], path: str | Path | None = None, *, source: str = "") -> Path:
    """Write a merged configuration as YAML, atomically, and return its path.

    Without ``path`` the file goes to a new temporary folder (named after ``source`` when that is a
    recipe file name). ``source`` is recorded in a header comment.
    """
    if path is None:
        name = Path(source).name if source.endswith(".yaml") else "recipe.yaml"
        path = Path(tempfile.mkdtemp(prefix="lrsql-recipe-")) / name
    header = (
        f"# Generated by lrsql_plugin.training from {source or 'a recipe'}; edit the recipe, not this file.\n"
    )
    body = yaml.dump(dict(config), Dumper=_QuotingDumper, sort_keys=False, allow_unicode=True)
    atomic_write_text(path, header + body)
    return Path(path)


class _QuotingDumper(yaml.SafeDumper):
    """Double-quotes every string, so that OmegaConf reads each back as the same string.

    PyYAML leaves e.g. ``1e-4`` unquoted (to PyYAML it is a string), which OmegaConf reads as a float.
    """


_QuotingDumper.add_representer(
    str, lambda dumper, value: dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')
)


def llamafactory_cli() -> str:
    """``llamafactory-cli`` of the running environment, else whichever is on PATH."""
    beside = Path(sys.executable).parent / "llamafactory-cli"
    return str(beside) if beside.is_file() else (shutil.which("llamafactory-cli") or "llamafactory-cli")


def train_command(recipe: str | Path, overrides: Sequence[str] = ()) -> list[str]:
    """``llamafactory-cli train <recipe> key=value ...`` as an argument list.

    LLaMA-Factory's torchrun launch (several GPUs, ``FORCE_TORCHRUN=1``) re-joins the arguments
    with spaces and splits them again, so an argument holding whitespace would be torn apart:
    such arguments are refused here. Write the merged recipe with ``write_recipe`` instead.
    """
    args = [str(recipe), *overrides]
    spaced = [arg for arg in args if any(ch.isspace() for ch in arg)]
    if spaced:
        raise RecipeError(
            f"argument(s) with whitespace break LLaMA-Factory's torchrun launch: {spaced}; "
            "move the value into the recipe (write_recipe) and use a path without spaces"
        )
    return [llamafactory_cli(), "train", *args]


def run_training(
    recipe: str | Path,
    overrides: Sequence[str] = (),
    *,
    cwd: str | Path | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Validate the merged recipe, then run ``llamafactory-cli train`` on the recipe plus overrides.

    Afterwards the merged configuration is written to ``OUTPUT_DIR/training_args.yaml`` (unless the
    file exists), as LLaMA-Factory's web UI does: ``llamafactory-cli train`` itself records the chat
    template nowhere in the output folder, and ``lrsql-eval`` reads it from this file.
    """
    config = load_recipe(recipe, overrides)
    validate_recipe(config)
    done = subprocess.run(train_command(recipe, overrides), cwd=cwd, env=env, check=True)
    record_training_args(config, cwd)
    return done


def record_training_args(config: Mapping[str, Any], cwd: str | Path | None = None) -> Path | None:
    """Write ``config`` to ``training_args.yaml`` in its ``output_dir`` (relative to ``cwd``) when that
    folder exists and has no such file; returns the path written, else None."""
    out = config.get("output_dir")
    if not out:
        return None
    folder = Path(str(out)) if Path(str(out)).is_absolute() or cwd is None else Path(cwd) / str(out)
    path = folder / "training_args.yaml"
    if not folder.is_dir() or path.exists():
        return None
    atomic_write_text(path, yaml.safe_dump(dict(config), sort_keys=False, allow_unicode=True))
    return path


def _train_dataclasses() -> tuple[type, ...]:
    from llamafactory.hparams import (
        DataArguments,
        FinetuningArguments,
        GeneratingArguments,
        ModelArguments,
        TrainingArguments,
    )

    # The same dataclasses, in the same order, as llamafactory.hparams.parser uses for `train`.
    return (ModelArguments, DataArguments, TrainingArguments, FinetuningArguments, GeneratingArguments)


def _train_fields() -> dict[str, Any]:
    """Every key ``llamafactory-cli train`` accepts, mapped to its type annotation."""
    fields: dict[str, Any] = {}
    for cls in _train_dataclasses():
        hints = typing.get_type_hints(cls)
        for field in dataclasses.fields(cls):
            if field.init:
                fields.setdefault(field.name, hints.get(field.name, Any))
    return fields


def _matches(value: Any, annotation: Any) -> bool:
    """Whether a YAML value fits an argument's annotation; annotations it cannot judge pass."""
    origin = typing.get_origin(annotation)
    if annotation is Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, arg) for arg in typing.get_args(annotation))
    if annotation is type(None):
        return value is None
    if origin is typing.Literal:
        return value in typing.get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return isinstance(value, annotation) or value in {member.value for member in annotation}
    if annotation is bool:
        return isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if annotation is str:
        return isinstance(value, str)
    if annotation is dict or origin is dict:
        return isinstance(value, dict)
    if annotation in (list, tuple) or origin in (list, tuple):
        return isinstance(value, (list, tuple))
    return True


def _describe(annotation: Any) -> str:
    if typing.get_origin(annotation) is typing.Literal:
        return "one of " + ", ".join(repr(arg) for arg in typing.get_args(annotation))
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "one of " + ", ".join(repr(member.value) for member in annotation)
    return getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")
