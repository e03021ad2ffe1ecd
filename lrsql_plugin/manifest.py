"""The conversion manifest (``manifest.json`` in a conversion folder).

It records everything inference needs to rebuild the training prompts exactly: the slicing and
rendering settings, the tokenizer that measured token budgets, a content hash of the templates, and
every pseudo-database (members, name map, canonical slicing).  ``lrsql-eval --dataset DIR`` reads
it instead of asking the user to re-type the conversion's flags.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from lrsql_plugin.errors import InputError
from lrsql_plugin.schema.model import Database
from lrsql_plugin.slicing.merge import PseudoDatabase, build_pseudo_database
from lrsql_plugin.slicing.pack import Slicing

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1

# Conversion settings that decide inference prompts, with the value that means "not set".
PROMPT_SETTINGS = ("tables_per_slice", "tokens_per_slice", "tokenizer", "sample_values", "descriptions", "templates_dir")


def build_manifest(args: Any, data: Any, spaces: Any, renderer: Any, counter: Any) -> dict:
    """The manifest of one conversion (``spaces`` is the conversion's ``LinkSpaces``)."""
    tokenizer = args.tokenizer
    if tokenizer and Path(tokenizer).exists():
        tokenizer = str(Path(tokenizer).resolve())
    templates_dir = str(Path(args.templates_dir).resolve()) if args.templates_dir else None
    pseudo = []
    for ctx in spaces.all_pseudo() if spaces.merged else []:
        canonical = ctx.slicings()[0]
        pseudo.append({**ctx.pseudo.manifest(), "slicing": [list(s) for s in canonical.slices], "label": canonical.label})
    return {
        "lrsql_manifest": MANIFEST_VERSION,
        "source": data.name,
        "settings": asdict(args),
        "inference": {
            "tables_per_slice": args.slice_sizes[0] or 0,
            "tokens_per_slice": args.tokens_per_slice,
            "tokenizer": tokenizer,
            "sample_values": args.sample_values,
            "descriptions": args.descriptions,
            "templates_dir": templates_dir,
            "max_description_tokens": args.max_description_tokens,
            "fold_families": args.fold_families,
            "cutoff_len": args.cutoff_len,
            "sql_answer_tokens": args.sql_answer_tokens,
        },
        "templates_sha256": renderer.templates_sha256(),
        "token_count": counter.description,
        "merge": {"merge_dbs": args.merge_dbs, "merge": args.merge, "seed": args.seed} if pseudo else None,
        "pseudo_databases": pseudo,
    }


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
}


def _normal(key: str, value: Any) -> Any:
    if key == "tokens_per_slice":
        return value or None
    if key in ("templates_dir", "tokenizer") and value and Path(str(value)).exists():
        return str(Path(str(value)).resolve())
    return value


def apply_manifest(manifest: ConversionManifest, given: dict[str, Any], explicit: set[str]) -> dict[str, Any]:
    """``given`` with every recorded inference setting taken from the manifest.

    A setting in ``explicit`` (given on the command line) that differs from the recorded one is an
    InputError naming both values.  The templates in effect must hash to the conversion's.
    """
    from lrsql_plugin.prompts.render import PromptRenderer

    out = dict(given)
    for key, flag in FLAGS.items():
        recorded = manifest.inference.get(key)
        if key in explicit and _normal(key, given.get(key)) != _normal(key, recorded):
            shown = "given" if key == "descriptions" else given.get(key)
            raise InputError(
                str(manifest.path), f"{flag} {shown} conflicts with the conversion's {key} = {recorded!r}; "
                "leave the flag out to use the conversion's value",
            )
        out[key] = recorded
    templates = out.get("templates_dir")
    if templates and not Path(str(templates)).is_dir():
        raise InputError(str(manifest.path), f"the conversion's templates folder {templates} no longer exists")
    digest = PromptRenderer(templates).templates_sha256()
    if digest != manifest.templates_sha256:
        raise InputError(
            str(manifest.path), f"the templates in effect (sha256 {digest[:12]}) differ from the conversion's "
            f"({manifest.templates_sha256[:12]}); inference prompts would not match the training prompts",
        )
    return out


ADAPTER_TRAINING_ARGS = ("training_args.yaml", "llamaboard_config.yaml")


def adapter_training_settings(adapter: str | Path | None) -> dict[str, str]:
    """Chat template and base model recorded in an adapter folder: LLaMA-Factory's saved training
    arguments (``training_args.yaml``) and peft's ``adapter_config.json``; empty when absent."""
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
