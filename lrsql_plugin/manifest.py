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
            known = {n.lower() for n in pseudo.database.table_names}
            if sorted(t.lower() for s in slicing.slices for t in s) != sorted(known):
                raise InputError(str(self.path), "slicing does not cover the pseudo-database's tables", f"pseudo_databases[{i}]")
            out.append((pseudo, slicing))
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
