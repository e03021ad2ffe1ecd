"""Click options generated from the hparams dataclasses, so that each setting is declared once.

A field's name gives the flag (``tokens_per_slice`` -> ``--tokens-per-slice``), its default the
default, its ``metadata["help"]`` the help text.  A boolean that defaults to True becomes a
``--no-<name>`` switch, one that defaults to False a ``--<name>`` switch.  ``list[int]`` fields take
a comma list.  Optional metadata: ``choices`` (a click.Choice), ``min`` (an IntRange lower bound),
``path`` (click.Path keyword arguments), ``flag`` (another flag spelling).  The parsed values are the
dataclass's keyword arguments, so a report built from ``asdict(args)`` shows the settings in effect.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

import click


def int_list(ctx: click.Context, param: click.Parameter, value: object) -> list[int]:
    """A comma list of integers; 0 entries mean "no limit" and are dropped."""
    if isinstance(value, list):
        return value
    try:
        return [n for n in (int(v) for v in str(value).split(",") if v.strip()) if n != 0]
    except ValueError as e:
        raise click.BadParameter(f"expected comma-separated integers, got {value!r}") from e


def field_option(f: dataclasses.Field) -> Callable:
    """The click option of one dataclass field (see the module docstring)."""
    meta = dict(f.metadata)
    kind = str(f.type).replace(" ", "")
    default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
    name = f.name.replace("_", "-")
    help_text = meta.get("help", "")
    if kind == "bool":
        flag = meta.get("flag") or (f"--no-{name}" if default else f"--{name}")
        if default:
            help_text = f"{help_text.rstrip('.')} (on by default; this flag turns it off)."
        return click.option(flag, f.name, is_flag=True, flag_value=not default, default=default, help=help_text)
    flag = meta.get("flag") or f"--{name}"
    kwargs: dict[str, object] = {"default": default, "help": help_text, "show_default": default is not None}
    if kind.startswith("list[int]"):
        kwargs.update(default=",".join(str(n) for n in default), callback=int_list, type=str)
    elif "choices" in meta:
        kwargs["type"] = click.Choice(list(meta["choices"]))
    elif "path" in meta:
        kwargs["type"] = click.Path(**meta["path"])
    elif kind.startswith("int"):
        kwargs["type"] = click.IntRange(min=meta["min"]) if "min" in meta else int
    elif kind.startswith("float"):
        kwargs["type"] = float
    else:
        kwargs["type"] = str
    return click.option(flag, f.name, **kwargs)


def dataclass_options(cls: type, exclude: tuple[str, ...] = ()) -> Callable[[Callable], Callable]:
    """A decorator adding one option per field of ``cls`` (in declaration order)."""
    options = [field_option(f) for f in dataclasses.fields(cls) if f.name not in exclude]
    return lambda fn: functools.reduce(lambda g, opt: opt(g), reversed(options), fn)
