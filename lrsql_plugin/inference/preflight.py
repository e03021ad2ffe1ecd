"""Fail fast on models: check base model, adapters, template and tokenizer before anything heavy loads.

Everything here is cheap (file checks, a source scan, at most one 3-second connection attempt) and
imports neither torch nor transformers nor LLaMA-Factory.  A problem is a ``ModelPathError`` (exit
code 2) that says what is wrong and what to pass instead.

- A local folder must exist and hold what loading needs: ``config.json`` and tokenizer files for a
  base model, tokenizer files for a tokenizer, ``adapter_config.json`` and adapter weights for an
  adapter, whose ``base_model_name_or_path`` must name the same base model as ``--base``.
- A hub id (``org/name``) is accepted when it is in the local Hugging Face cache.  Otherwise, with
  ``HF_HUB_OFFLINE`` / ``TRANSFORMERS_OFFLINE`` set or the hub unreachable within 3 seconds, it fails
  at once with a hint to pass a local folder (instead of a long wait and a traceback).
- The chat template must be given (or read from the adapters) and be one LLaMA-Factory registers.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import socket
import threading
from pathlib import Path
from urllib.parse import urlparse

from lrsql_plugin.errors import LrsqlError

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json", "spiece.model")
ADAPTER_WEIGHTS = ("adapter_model.safetensors", "adapter_model.bin")
HUB_PROBE_SECONDS = 3.0
_HUB_ID = re.compile(r"^([A-Za-z0-9][\w.\-]*/)?[A-Za-z0-9][\w.\-]*$")
_TRUE = {"1", "on", "yes", "true"}


class ModelPathError(LrsqlError):
    """A model, adapter, tokenizer or template that cannot be loaded, found before loading anything."""


def _offline() -> bool:
    return any(os.environ.get(v, "").strip().lower() in _TRUE for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def _looks_local(name: str) -> bool:
    return name.startswith(("/", ".", "~")) or not _HUB_ID.match(name)


def _in_hub_cache(repo_id: str, filename: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - transformers always brings it
        return False
    try:
        return isinstance(try_to_load_from_cache(repo_id, filename), str)
    except Exception:  # noqa: BLE001 - an invalid repo id is simply "not cached"
        return False


def _hub_reachable(timeout: float = HUB_PROBE_SECONDS) -> bool:
    """Whether a TCP connection to the hub opens within ``timeout`` (DNS included, run in a thread)."""
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    parsed = urlparse(endpoint)
    host, port = parsed.hostname or "huggingface.co", parsed.port or (443 if parsed.scheme != "http" else 80)
    result: list[bool] = []

    def probe() -> None:
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(result and result[0])


def _check_hub_id(name: str, what: str, option: str, needed: str) -> None:
    if _in_hub_cache(name, needed):
        return
    hint = f"download it on a machine with access (huggingface-cli download {name}) and pass the local folder to {option}"
    if _offline():
        raise ModelPathError(f"{option} {name}: {what} is not in the local Hugging Face cache and HF_HUB_OFFLINE is set; {hint}")
    if not _hub_reachable():
        raise ModelPathError(
            f"{option} {name}: no such local folder, and the Hugging Face hub cannot be reached "
            f"(offline?) and the {what} is not cached; {hint}"
        )


def check_tokenizer(name: str, option: str = "--tokenizer") -> None:
    """A folder with tokenizer files, or a hub id that is cached or reachable."""
    path = Path(name).expanduser()
    if path.is_dir():
        if not any((path / f).is_file() for f in TOKENIZER_FILES):
            raise ModelPathError(f"{option} {name}: the folder holds no tokenizer ({', '.join(TOKENIZER_FILES[:3])}, ...)")
        return
    if path.exists() or _looks_local(name):
        raise ModelPathError(f"{option} {name}: {'not a folder' if path.exists() else 'no such folder'}")
    _check_hub_id(name, "tokenizer", option, "tokenizer_config.json")


def check_base_model(name: str, option: str = "--base") -> None:
    """A folder with config.json and a tokenizer, or a hub id that is cached or reachable."""
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelPathError(f"{option} {name}: the folder holds no config.json (is it a model folder?)")
        check_tokenizer(name, option)
        return
    if path.exists() or _looks_local(name):
        raise ModelPathError(f"{option} {name}: {'not a folder' if path.exists() else 'no such folder'}")
    _check_hub_id(name, "model", option, "config.json")


def _same_model(a: str, b: str) -> bool:
    """Whether two names of a base model are the same model: equal, the same folder, or the same last part
    (``Qwen/Qwen2.5-7B`` and ``/models/Qwen2.5-7B``, a local copy of a hub model)."""
    if a == b:
        return True
    pa, pb = Path(a).expanduser(), Path(b).expanduser()
    if pa.exists() and pb.exists():
        try:
            return pa.resolve() == pb.resolve() or pa.samefile(pb)
        except OSError:
            return False
    return pa.name.lower() == pb.name.lower() and pa.name != ""


def check_adapter(path_name: str, base: str | None, option: str) -> None:
    """An adapter folder with adapter_config.json (naming ``base`` as its base model) and weights."""
    path = Path(path_name).expanduser()
    if not path.is_dir():
        raise ModelPathError(f"{option} {path_name}: {'not a folder' if path.exists() else 'no such folder'}")
    config_path = path / "adapter_config.json"
    if not config_path.is_file():
        raise ModelPathError(f"{option} {path_name}: no adapter_config.json (is it a LoRA adapter folder, e.g. saves/...?)")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelPathError(f"{config_path}: not valid JSON ({e})") from e
    if not isinstance(config, dict):
        raise ModelPathError(f"{config_path}: expected a JSON object")
    if not any((path / w).is_file() for w in ADAPTER_WEIGHTS):
        raise ModelPathError(f"{option} {path_name}: no adapter weights ({' or '.join(ADAPTER_WEIGHTS)})")
    trained_on = config.get("base_model_name_or_path")
    if base and isinstance(trained_on, str) and trained_on and not _same_model(trained_on, base):
        raise ModelPathError(
            f"{option} {path_name}: adapter_config.json says it was trained on {trained_on!r}, but --base is {base!r}; "
            "pass the base model the adapter was trained on"
        )


def llamafactory_templates() -> list[str] | None:
    """Template names LLaMA-Factory registers, read from its source without importing it (None if unknown)."""
    spec = importlib.util.find_spec("llamafactory")
    if spec is None or not spec.submodule_search_locations:
        return None
    source = Path(next(iter(spec.submodule_search_locations))) / "data" / "template.py"
    try:
        names = re.findall(r'register_template\(\s*name="([^"]+)"', source.read_text(encoding="utf-8"))
    except OSError:
        return None
    return names if len(names) >= 10 else None


def check_template(name: str, option: str = "--template") -> None:
    names = llamafactory_templates()
    if names is not None and name not in names:
        close = [n for n in names if n.startswith(name[:3])][:8]
        hint = f" (similar: {', '.join(close)})" if close else ""
        raise ModelPathError(f"{option} {name}: not a LLaMA-Factory chat template{hint}; use the template of training")


def check_inference_models(args: object) -> None:
    """All checks for ``InferenceArguments`` before an engine is built (the openai engine loads nothing)."""
    tokenizer = getattr(args, "tokenizer", None)
    if tokenizer:
        check_tokenizer(tokenizer, "--tokenizer")
    template = getattr(args, "template", None)
    if getattr(args, "engine", "hf") == "openai":  # the prompts are rendered here when template and tokenizer are known
        if template:
            check_template(template, "--template")
        if getattr(args, "base", None):
            check_tokenizer(args.base, "--base")  # type: ignore[attr-defined]
        return
    base = args.base  # type: ignore[attr-defined]
    if not template:
        raise ModelPathError("--template: the chat template of training is needed (no default); give the recipe's `template:`")
    check_template(template, "--template")
    if args.sql_adapter:  # type: ignore[attr-defined]
        check_adapter(args.sql_adapter, base, "--sql-adapter")  # type: ignore[attr-defined]
    if not args.gold_tables and args.schema_link_adapter:  # type: ignore[attr-defined]
        check_adapter(args.schema_link_adapter, base, "--schema-link-adapter")  # type: ignore[attr-defined]
    check_base_model(base, "--base")
