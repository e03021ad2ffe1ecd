"""Click options generated from the hparams dataclasses, so that each setting is declared once.

A field's name gives the flag (``tokens_per_slice`` -> ``--tokens-per-slice``) and the click parameter
name, its default the default, its ``metadata["help"]`` the help text.  A boolean that defaults to True
becomes a ``--no-<name>`` switch, one that defaults to False a ``--<name>`` switch.  ``list[int]``
fields take a comma list; ``int`` and ``float`` fields their type, anything else a string.

Optional metadata:

- ``choices``: the values allowed (a click.Choice);
- ``min``: an IntRange lower bound;
- ``path``: click.Path keyword arguments (the value stays a string);
- ``flag``: the flag spelling instead of the one made from the name;
- ``aliases``: further flag spellings (``("--keep_distinct",)`` beside ``--keep-distinct``);
- ``default_text``: the option defaults to None (not given) and the help shows this text as its
  default; the command, or the dataclass's own default, supplies the value (``values_given``).

A command may give an option another parameter name (``params``) or another default (``defaults``).
The parsed values are the dataclass's keyword arguments, so a report built from ``asdict(args)``
shows the settings in effect.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable, Mapping

import click

_MISSING = dataclasses.MISSING


def int_list(ctx: click.Context, param: click.Parameter, value: object) -> list[int]:
    """A comma list of integers; 0 entries mean "no limit" and are dropped."""
    if isinstance(value, list):
        return value
    try:
        return [n for n in (int(v) for v in str(value).split(",") if v.strip()) if n != 0]
    except ValueError as e:
        raise click.BadParameter(f"expected comma-separated integers, got {value!r}") from e


def field_default(f: dataclasses.Field) -> object:
    """The field's default (a ``default_factory`` called)."""
    return f.default if f.default is not _MISSING else f.default_factory()  # type: ignore[misc]


def option_default(f: dataclasses.Field) -> object:
    """The default of the field's option: None where ``metadata["default_text"]`` stands for it."""
    return None if "default_text" in f.metadata else field_default(f)


def option_help(f: dataclasses.Field) -> str:
    """The help of the field's option: ``metadata["help"]``, a switch that turns a default-on setting
    off saying so."""
    help_text = f.metadata.get("help", "")
    if str(f.type).replace(" ", "") == "bool" and field_default(f):
        help_text = f"{help_text.rstrip('.')} (on by default; this flag turns it off)."
    return help_text


def field_option(f: dataclasses.Field, param: str | None = None, default: object = _MISSING) -> Callable:
    """The click option of one dataclass field (see the module docstring); ``param`` is its click
    parameter name (default: the field's), ``default`` replaces the field's default."""
    meta = dict(f.metadata)
    kind = str(f.type).replace(" ", "")
    default = option_default(f) if default is _MISSING else default
    name = f.name.replace("_", "-")
    param = param or f.name
    aliases = tuple(meta.get("aliases", ()))
    help_text = option_help(f)
    if kind == "bool":
        flag = meta.get("flag") or (f"--no-{name}" if default else f"--{name}")
        return click.option(flag, *aliases, param, is_flag=True, flag_value=not default, default=default, help=help_text)
    flag = meta.get("flag") or f"--{name}"
    show_default: bool | str = meta.get("default_text") or default is not None
    kwargs: dict[str, object] = {"default": default, "help": help_text, "show_default": show_default}
    if kind.startswith("list[int]"):
        kwargs.update(default=",".join(str(n) for n in default), callback=int_list, type=str)  # type: ignore[union-attr]
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
    return click.option(flag, *aliases, param, **kwargs)


def option_fields(cls: type, exclude: Iterable[str] = (), only: Iterable[str] | None = None) -> list[dataclasses.Field]:
    """The fields of ``cls`` that get an option: all but ``exclude`` in declaration order, or those
    named in ``only``, in that order."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    if only is not None:
        only = list(only)
        unknown = [n for n in only if n not in fields]
        if unknown:
            raise ValueError(f"{cls.__name__} has no field(s) {', '.join(unknown)}")
        return [fields[n] for n in only if n not in set(exclude)]
    return [f for f in fields.values() if f.name not in set(exclude)]


def dataclass_options(
    cls: type,
    exclude: tuple[str, ...] = (),
    *,
    only: Iterable[str] | None = None,
    params: Mapping[str, str] | None = None,
    defaults: Mapping[str, object] | None = None,
) -> Callable[[Callable], Callable]:
    """A decorator adding one option per field of ``cls`` (``option_fields``); ``params`` maps a field
    to another click parameter name, ``defaults`` a field to another option default."""
    params, defaults = params or {}, defaults or {}
    options = [field_option(f, params.get(f.name), defaults.get(f.name, _MISSING)) for f in option_fields(cls, exclude, only)]
    return lambda fn: functools.reduce(lambda g, opt: opt(g), reversed(options), fn)


def values_given(cls: type, values: Mapping[str, object], params: Mapping[str, str] | None = None) -> dict[str, object]:
    """The keyword arguments of ``cls`` in parsed option ``values`` (click parameter names, see
    ``params``); an option with a ``default_text`` left at None is left out, so that the dataclass's
    own default applies."""
    params = params or {}
    out = {}
    for f in dataclasses.fields(cls):
        key = params.get(f.name, f.name)
        if key not in values:
            continue
        value = values[key]
        if value is None and "default_text" in f.metadata:
            continue
        out[f.name] = value
    return out
