"""The conversion manifest (``manifest.json`` in a conversion folder).

It records everything inference needs to rebuild the training prompts exactly: the slicing and
rendering settings, the tokenizer that measured token budgets, a content hash of the templates, and
every pseudo-database (members, name map, canonical slicing).  ``lrsql-eval --dataset DIR`` reads
it instead of asking the user to re-type the conversion's flags.

A conversion folder travels: no path of the converting machine is stored.  The tokenizer is
recorded by name (a hub id as given, or a local folder's name) plus ``tokenizer_sha256``, a content
hash of the files that define tokenization (``TOKENIZER_FILES``); inference accepts any tokenizer
whose files hash the same (``--tokenizer``, else the base model's own) and refuses another one,
naming both.  The templates folder is recorded by name; ``templates_sha256`` identifies its content,
and ``--templates-dir`` must point at a copy that hashes the same.  Manifests of earlier versions,
which recorded absolute paths, keep working where those paths exist.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from lrsql_plugin.errors import InputError
from lrsql_plugin.prompts.layout import LEGACY_LAYOUT
from lrsql_plugin.schema.model import Database
from lrsql_plugin.slicing.merge import PseudoDatabase, build_pseudo_database
from lrsql_plugin.slicing.pack import Slicing

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1

# Conversion settings that decide inference prompts, with the value that means "not set".
PROMPT_SETTINGS = ("tables_per_slice", "tokens_per_slice", "tokenizer", "sample_values", "descriptions", "templates_dir")


def build_manifest(args: Any, data: Any, spaces: Any, renderer: Any, counter: Any) -> dict:
    """The manifest of one conversion (``spaces`` is the conversion's ``LinkSpaces``); it holds no path
    of this machine (see the module docstring)."""
    tokenizer, tokenizer_sha256, tokenizer_files = args.tokenizer, None, []
    if tokenizer:
        folder = tokenizer_folder(tokenizer)
        if folder is not None:
            tokenizer_sha256, tokenizer_files = tokenizer_fingerprint(folder)
        tokenizer = portable_name(tokenizer)
    token_count = counter.description
    if args.tokenizer:
        token_count = token_count.replace(str(args.tokenizer), str(tokenizer))
    pseudo = []
    for ctx in spaces.all_pseudo() if spaces.merged else []:
        canonical = ctx.slicings()[0]
        pseudo.append({**ctx.pseudo.manifest(), "slicing": [list(s) for s in canonical.slices], "label": canonical.label})
    return {
        "lrsql_manifest": MANIFEST_VERSION,
        "source": data.name,
        "settings": portable_settings(args),
        "inference": {
            "tables_per_slice": args.slice_sizes[0] or 0,
            "tokens_per_slice": args.tokens_per_slice,
            "tokenizer": tokenizer,
            "tokenizer_sha256": tokenizer_sha256,
            "tokenizer_files": tokenizer_files,
            "sample_values": args.sample_values,
            "descriptions": args.descriptions,
            "templates_dir": portable_name(args.templates_dir) if args.templates_dir else None,
            "max_description_tokens": args.max_description_tokens,
            "fold_families": args.fold_families,
            "cutoff_len": args.cutoff_len,
            "sql_answer_tokens": args.sql_answer_tokens,
            "prompt_layout": args.prompt_layout,
        },
        "templates_sha256": renderer.templates_sha256(),
        "token_count": token_count,
        "merge": {"merge_dbs": portable_name(args.merge_dbs) if args.merge_dbs else None, "merge": args.merge,
                  "seed": args.seed} if pseudo else None,
        "pseudo_databases": pseudo,
    }


#: The files that define tokenization, hashed into ``tokenizer_sha256`` where present: the tokenizer
#: itself (``tokenizer.json``; or the slow tokenizer's vocabulary: ``vocab.json`` + ``merges.txt``,
#: ``vocab.txt``, a SentencePiece model), its settings and special tokens (``tokenizer_config.json``,
#: ``special_tokens_map.json``, ``added_tokens.json``) and its chat template (``chat_template.jinja``
#: / ``chat_template.json``: token counts follow the chat template).  Model weights and config.json
#: are not part of it, so a model folder and a copy of its tokenizer files hash the same.  A copy
#: of the files is accepted; a tokenizer re-saved by another transformers version may differ.
TOKENIZER_FILES = (
    "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
    "vocab.json", "merges.txt", "vocab.txt", "tokenizer.model", "spiece.model", "sentencepiece.bpe.model",
    "chat_template.jinja", "chat_template.json",
)
# ConvertArguments fields that hold a path of the converting machine (recorded by their last part).
PATH_SETTINGS = ("tokenizer", "templates_dir", "model_config", "merge_dbs")


_HUB_ID = re.compile(r"^([A-Za-z0-9][\w.\-]*/)?[A-Za-z0-9][\w.\-]*$")  # ``name`` or ``org/name``


def portable_name(value: str | Path) -> str:
    """A local path by its last part (the folder or file name); a hub id as given."""
    text = str(value)
    path = Path(text).expanduser()
    if path.exists():
        return path.resolve().name
    return text if _HUB_ID.match(text) else path.name


def portable_settings(args: Any) -> dict:
    """``asdict(args)`` with every path setting reduced to its last part (no path of this machine)."""
    out = asdict(args)
    for key in PATH_SETTINGS:
        if out.get(key):
            out[key] = portable_name(out[key])
    return out


def tokenizer_folder(name: str | Path) -> Path | None:
    """The local folder of tokenizer ``name``: the folder itself, or its snapshot in the Hugging Face
    cache (a hub id); None when there is none."""
    path = Path(str(name)).expanduser()
    if path.is_dir():
        return path
    if path.exists() or not _HUB_ID.match(str(name)):
        return None
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - transformers always brings it
        return None
    for filename in ("tokenizer_config.json", "tokenizer.json"):
        try:
            hit = try_to_load_from_cache(str(name), filename)
        except Exception:  # noqa: BLE001 - an invalid repo id is simply "not cached"
            continue
        if isinstance(hit, str):
            return Path(hit).parent
    return None


def tokenizer_fingerprint(folder: str | Path) -> tuple[str | None, list[str]]:
    """``(sha256, files hashed)`` of the ``TOKENIZER_FILES`` in ``folder``; ``(None, [])`` when it has none.

    The hash covers each present file's name and content, in the order of ``TOKENIZER_FILES``."""
    h, files = hashlib.sha256(), []
    for name in TOKENIZER_FILES:
        path = Path(folder) / name
        if path.is_file():
            h.update(f"{name}\0{hashlib.sha256(path.read_bytes()).hexdigest()}\n".encode())
            files.append(name)
    return (h.hexdigest(), files) if files else (None, [])


@dataclass
class ConversionManifest:
    path: Path
    data: dict

    @property
    def inference(self) -> dict:
        return self.data["inference"]

    @property
    def templates_sha256(self) -> str:
        return self.data["templates_sha256"]

    @property
    def merged(self) -> bool:
        return bool(self.data.get("pseudo_databases"))

    def link_names(self) -> dict[tuple[str, str], str]:
        """``(db_id, table name lower) -> merged name`` over every pseudo-database (empty when not merged)."""
        return {
            (db_id, original.lower()): merged
            for entry in self.data.get("pseudo_databases") or []
            for merged, db_id, original in entry["tables"]
        }

    def pseudo_databases(self, databases: dict[str, Database]) -> list[tuple[PseudoDatabase, Slicing]]:
        """Rebuild every pseudo-database from ``databases`` (the schema file) and check it against the manifest."""
        out = []
        for i, entry in enumerate(self.data.get("pseudo_databases") or []):
            missing = [d for d in entry["members"] if d not in databases]
            if missing:
                raise InputError(
                    str(self.path), f"pseudo-database {entry['name']!r} has members the schema file lacks: {', '.join(missing)}",
                    f"pseudo_databases[{i}]",
                )
            pseudo = build_pseudo_database([databases[d] for d in entry["members"]], entry["name"])
            tables = [[n, *pseudo.origin[n.lower()]] for n in pseudo.database.table_names]
            if tables != entry["tables"]:
                raise InputError(
                    str(self.path), f"pseudo-database {entry['name']!r} differs from the one of the conversion "
                    "(the schema file changed?)", f"pseudo_databases[{i}]",
                )
            slicing = Slicing(pseudo.name, tuple(tuple(s) for s in entry["slicing"]), entry.get("label", "canonical"))
            out.append((pseudo, slicing))  # the slicing names link units: checked against the rebuilt units by the caller
        return out


def load_manifest(dataset_dir: str | Path) -> ConversionManifest:
    """Read ``DIR/manifest.json``; a missing or malformed manifest is an InputError naming it."""
    path = Path(dataset_dir) / MANIFEST
    if not path.is_file():
        raise InputError(str(path), "no conversion manifest here (convert with this version of lrsql-convert)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(str(path), f"not a valid JSON manifest ({e})") from e
    if not isinstance(data, dict) or data.get("lrsql_manifest") != MANIFEST_VERSION:
        raise InputError(str(path), f"not an lrsql manifest of version {MANIFEST_VERSION}")
    for key in ("inference", "templates_sha256"):
        if key not in data:
            raise InputError(str(path), f"missing key {key!r}")
    return ConversionManifest(path, data)


# Flag spelling of each recorded inference setting, for conflict messages.
FLAGS = {
    "tables_per_slice": "--tables-per-slice",
    "tokens_per_slice": "--tokens-per-slice",
    "tokenizer": "--tokenizer",
    "sample_values": "--sample-values",
    "descriptions": "--no-descriptions",
    "templates_dir": "--templates-dir",
    "prompt_layout": "--prompt-layout",
}
# A recorded setting's value in a manifest written before the setting existed.
LEGACY_VALUES = {"prompt_layout": LEGACY_LAYOUT}


def _normal(key: str, value: Any) -> Any:
    if key == "tokens_per_slice":
        return value or None
    return value


def _short(digest: str | None) -> str:
    return f"sha256 {digest[:12]}" if digest else "no hash"


def resolve_tokenizer(manifest: ConversionManifest, given: dict[str, Any], explicit: bool) -> str | None:
    """The tokenizer to count tokens with: ``--tokenizer`` when given, else the base model's own, else
    the recorded one (a hub id, or an older manifest's existing path); it must hash as the conversion's.

    Raises InputError naming the manifest, the recorded name and hash, and the tokenizer given."""
    recorded = manifest.inference.get("tokenizer")
    digest = manifest.inference.get("tokenizer_sha256")
    mine = given.get("tokenizer") if explicit else None
    if not recorded:
        if mine:
            raise InputError(
                str(manifest.path), f"--tokenizer {mine} conflicts with the conversion's tokenizer = None (token counts "
                "were approximated); leave the flag out to use the conversion's value",
            )
        return None
    shown = f"the conversion's tokenizer {recorded!r} ({_short(digest)})"

    def fingerprint(name: str) -> str | None:
        folder = tokenizer_folder(name)
        return tokenizer_fingerprint(folder)[0] if folder is not None else None

    if digest is None:  # no hash recorded: a hub id that was not cached, or a manifest of an earlier version (a path)
        if mine:
            if mine == recorded or _same_path(mine, recorded):
                return str(mine)
            theirs = fingerprint(str(recorded)) if Path(str(recorded)).exists() else None
            if theirs is not None and fingerprint(str(mine)) == theirs:
                return str(mine)
            raise InputError(
                str(manifest.path), f"--tokenizer {mine} conflicts with {shown}; leave the flag out to use the conversion's",
            )
        if Path(str(recorded)).is_absolute() and not Path(str(recorded)).exists():
            raise InputError(
                str(manifest.path), f"{shown} no longer exists; the manifest (of an earlier version) records no hash "
                "to recognise a copy by: convert again with this version",
            )
        return str(recorded)
    if mine:
        found = fingerprint(str(mine))
        if found == digest:
            return str(mine)
        raise InputError(
            str(manifest.path), f"--tokenizer {mine} ({_short(found) if found else 'no tokenizer files found'}) differs "
            f"from {shown}; token budgets, and so the slices, would not be those of training: pass a copy of it",
        )
    base = given.get("base")
    base_digest = fingerprint(str(base)) if base else None
    if base_digest == digest:
        return str(base)  # the base model's own tokenizer
    found = fingerprint(str(recorded))
    if found == digest:
        return str(recorded)  # a hub id in the cache, or a folder of that name here
    if base_digest is not None or found is not None:
        what = f"the tokenizer of --base {base}" if base_digest is not None else f"the tokenizer {recorded} found here"
        raise InputError(
            str(manifest.path), f"{what} ({_short(base_digest if base_digest is not None else found)}) differs from "
            f"{shown}; pass a copy of the conversion's tokenizer with --tokenizer, or the base model it belongs to",
        )
    raise InputError(
        str(manifest.path), f"{shown} is not here (no such folder, nor in the Hugging Face cache); pass a copy of it "
        "with --tokenizer (any folder whose tokenizer files hash the same), or --base of the model it belongs to",
    )


def _same_path(a: Any, b: Any) -> bool:
    pa, pb = Path(str(a)).expanduser(), Path(str(b)).expanduser()
    return pa.exists() and pb.exists() and pa.resolve() == pb.resolve()


def resolve_templates(manifest: ConversionManifest, given: dict[str, Any], explicit: bool) -> str | None:
    """The templates folder in effect: ``--templates-dir`` when given (it must hash as the conversion's
    templates), else the shipped templates (None) when the conversion used them, else an older
    manifest's existing path; a conversion with its own templates otherwise needs ``--templates-dir``."""
    from lrsql_plugin.prompts.render import PromptRenderer

    recorded = manifest.inference.get("templates_dir")
    digest = manifest.templates_sha256
    shown = f"the conversion's templates ({f'folder {Path(str(recorded)).name!r}' if recorded else 'the shipped ones'}, " \
            f"sha256 {digest[:12]})"
    mine = given.get("templates_dir") if explicit else None
    if mine:
        if not Path(str(mine)).is_dir():
            raise InputError(str(manifest.path), f"--templates-dir {mine}: no such folder")
        found = PromptRenderer(str(mine)).templates_sha256()
        if found != digest:
            raise InputError(
                str(manifest.path), f"--templates-dir {mine} (sha256 {found[:12]}) conflicts with {shown}; "
                "inference prompts would not match the training prompts",
            )
        return str(mine)
    if not recorded:
        return None
    if Path(str(recorded)).is_absolute() and Path(str(recorded)).is_dir():
        return str(recorded)  # a manifest of an earlier version, on the converting machine
    if Path(str(recorded)).is_absolute():
        raise InputError(str(manifest.path), f"the conversion's templates folder {recorded} no longer exists; "
                         "give --templates-dir with a copy of it")
    raise InputError(str(manifest.path), f"the conversion used its own templates: {shown}; give --templates-dir "
                     "with a copy of that folder")


def apply_manifest(manifest: ConversionManifest, given: dict[str, Any], explicit: set[str]) -> dict[str, Any]:
    """``given`` with every recorded inference setting taken from the manifest.

    A setting in ``explicit`` (given on the command line) that differs from the recorded one is an
    InputError naming both values.  The tokenizer and the templates are compared by content hash
    (``resolve_tokenizer``, ``resolve_templates``); the templates in effect must hash to the conversion's.
    """
    from lrsql_plugin.prompts.render import PromptRenderer

    out = dict(given)
    for key, flag in FLAGS.items():
        if key in ("tokenizer", "templates_dir"):
            continue
        recorded = manifest.inference.get(key, LEGACY_VALUES.get(key))
        if key in explicit and _normal(key, given.get(key)) != _normal(key, recorded):
            shown = "given" if key == "descriptions" else given.get(key)
            raise InputError(
                str(manifest.path), f"{flag} {shown} conflicts with the conversion's {key} = {recorded!r}; "
                "leave the flag out to use the conversion's value",
            )
        out[key] = recorded
    out["tokenizer"] = resolve_tokenizer(manifest, given, "tokenizer" in explicit)
    out["templates_dir"] = templates = resolve_templates(manifest, given, "templates_dir" in explicit)
    digest = PromptRenderer(templates).templates_sha256()
    if digest != manifest.templates_sha256:
        raise InputError(
            str(manifest.path), f"the templates in effect (sha256 {digest[:12]}) differ from the conversion's "
            f"({manifest.templates_sha256[:12]}); inference prompts would not match the training prompts",
        )
    return out


ADAPTER_TRAINING_ARGS = ("training_args.yaml", "llamaboard_config.yaml")


def adapter_training_settings(adapter: str | Path | None) -> dict[str, str]:
    """Chat template and base model recorded in an adapter folder: saved training arguments
    (``training_args.yaml``, ``llamaboard_config.yaml``) and peft's ``adapter_config.json``; empty when absent.

    What LLaMA-Factory 0.9 saves: ``llamafactory-cli train`` writes the adapter (``adapter_config.json``
    with ``base_model_name_or_path``, ``adapter_model.safetensors``), the tokenizer files, a model card
    (``README.md``: base model and datasets), ``training_args.bin`` (transformers' training arguments
    only), ``trainer_state.json``, ``*_results.json`` and ``trainer_log.jsonl``: the template's name is in
    none of them.  Only its web UI writes ``training_args.yaml`` / ``llamaboard_config.yaml`` (with
    ``template``), and so does ``lrsql_plugin.training.run_training``; otherwise ``--template`` is needed."""
    if not adapter or not Path(adapter).is_dir():
        return {}
    import yaml

    found: dict[str, str] = {}
    config = Path(adapter) / "adapter_config.json"
    if config.is_file():
        try:
            base = json.loads(config.read_text(encoding="utf-8")).get("base_model_name_or_path")
        except (UnicodeDecodeError, json.JSONDecodeError):
            base = None
        if isinstance(base, str) and base:
            found["base"] = base
    for name in ADAPTER_TRAINING_ARGS:
        path = Path(adapter) / name
        if not path.is_file():
            continue
        try:
            saved = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (UnicodeDecodeError, yaml.YAMLError) as e:
            raise InputError(str(path), f"not readable YAML ({e})") from e
        if isinstance(saved, dict):
            for key, ours in (("template", "template"), ("model_name_or_path", "base")):
                value = saved.get(key) or saved.get(f"top.{key}")
                if isinstance(value, str) and value:  # the training arguments win over adapter_config.json
                    found[ours] = value
                    found[f"{ours}_source"] = str(path)
        break
    return found
