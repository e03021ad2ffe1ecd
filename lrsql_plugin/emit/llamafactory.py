"""LLaMA-Factory dataset files: alpaca or sharegpt records plus ``dataset_info.json``.

alpaca records carry ``system``, ``instruction`` (task and question), ``input`` (the schema DDL)
and ``output``; LLaMA-Factory joins instruction and input with a newline, so the question always
precedes the schema and survives ``cutoff_len`` truncation of the prompt's end.  sharegpt records
carry ``system`` and ``conversations`` (``from``/``value``, ``human``/``gpt``: LLaMA-Factory's
default tags).
"""

from __future__ import annotations

import json
from pathlib import Path

from lrsql_plugin.files import atomic_write_text
from lrsql_plugin.samples.builders import KINDS, Sample


def dataset_records(samples: list[Sample], fmt: str) -> list[dict]:
    if fmt == "alpaca":
        return [
            {"system": s.prompt.system, "instruction": s.prompt.instruction, "input": s.prompt.input, "output": s.output}
            for s in samples
        ]
    if fmt == "sharegpt":
        return [
            {
                "system": s.prompt.system,
                "conversations": [{"from": "human", "value": s.prompt.user}, {"from": "gpt", "value": s.output}],
            }
            for s in samples
        ]
    raise ValueError(f"unknown format {fmt!r}")


def dataset_info(kinds: list[str], fmt: str, prefix: str) -> dict:
    """``dataset_info.json`` entries named ``<prefix>_<kind>`` for ``<kind>.json``."""
    if fmt == "alpaca":
        columns = {"prompt": "instruction", "query": "input", "response": "output", "system": "system"}
    else:
        columns = {"messages": "conversations", "system": "system"}
    return {f"{prefix}_{k}": {"file_name": f"{k}.json", "formatting": fmt, "columns": columns} for k in kinds}


def write_datasets(out_dir: str | Path, samples: dict[str, list[Sample]], fmt: str, prefix: str) -> list[Path]:
    """Write one JSON file per kind and the dataset_info.json registering them; returns the paths."""
    out = Path(out_dir)
    kinds = [k for k in KINDS if k in samples]
    paths = []
    for kind in kinds:
        path = out / f"{kind}.json"
        atomic_write_text(path, json.dumps(dataset_records(samples[kind], fmt), ensure_ascii=False, indent=1) + "\n")
        paths.append(path)
    info = out / "dataset_info.json"
    atomic_write_text(info, json.dumps(dataset_info(kinds, fmt, prefix), indent=2) + "\n")
    return [*paths, info]
