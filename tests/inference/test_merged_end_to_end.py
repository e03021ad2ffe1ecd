"""The paper's setting end to end on CPU: a pseudo-database conversion, both adapters trained a few steps on
SmolLM2-135M-Instruct by the recipes with a stock llamafactory-cli, then lrsql-eval --dataset links inside the
pseudo-database, maps the linked tables back, and runs the SQL on the real Spider-DK databases."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.training.helpers import CPU_OVERRIDES, LRSQL_CONVERT, train

LRSQL_EVAL = str(Path(sys.executable).parent / "lrsql-eval")
WITH_DATABASES = ("new_concert_singer", "new_orchestra", "new_pets_1")


@pytest.mark.slow
def test_merged_inference_end_to_end_with_smollm2(dk_dir, smollm2_dir, tmp_path):
    ws = tmp_path
    members = ws / "members.txt"
    members.write_text("\n".join(sorted({q["db_id"] for q in json.loads((dk_dir / "Spider-DK.json").read_text())})) + "\n")
    questions = [q for q in json.loads((dk_dir / "Spider-DK.json").read_text()) if q["db_id"] in WITH_DATABASES]
    (ws / "questions.json").write_text(json.dumps(questions[:6] + questions[45:51] + questions[85:91]))
    conv = ws / "datasets" / "spider"
    subprocess.run([LRSQL_CONVERT, "spider", "--spider-dir", dk_dir, "--questions", ws / "questions.json",
                    "--merge-dbs", members, "--tables-per-slice", "6", "--out", conv, "--quiet"],
                   check=True, capture_output=True)
    (ws / "recipes").symlink_to(Path(__file__).resolve().parents[2] / "recipes", target_is_directory=True)
    adapters = {}
    for recipe, name in (("schema_link_lora", "schema_link"), ("sql_generation_lora", "sql_generation")):
        out = ws / "saves" / name
        train(ws, recipe, [f"model_name_or_path={smollm2_dir}", f"output_dir={out}", "max_steps=2",
                           "gradient_accumulation_steps=1", "learning_rate=0.001", *CPU_OVERRIDES])
        adapters[name] = out
    out = ws / "eval"
    proc = subprocess.run(
        [LRSQL_EVAL, "--base", smollm2_dir, "--schema-link-adapter", adapters["schema_link"],
         "--sql-adapter", adapters["sql_generation"], "--template", "qwen",  # the recipes'; llamafactory-cli records none
         "--dataset", conv, "--spider-dir", dk_dir,
         "--questions", ws / "questions.json", "--limit", "4", "--link-max-new-tokens", "8",
         "--sql-max-new-tokens", "24", "--timeout", "5", "--out", out, "--no-progress"],
        capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    manifest = json.loads((conv / "manifest.json").read_text())
    [pseudo] = manifest["pseudo_databases"]
    merged_names = {m for m, _, _ in pseudo["tables"]}
    owner = {m: d for m, d, _ in pseudo["tables"]}
    preds = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert len(preds) == 4
    for p in preds:
        assert p["link_schema"] == "merged" and p["slices"] == pseudo["slicing"] and len(p["slices"]) > 3
        assert len(p["link_answers"]) == len(p["slices"])
        assert set(p["link_schema_tables"]) <= merged_names
        assert p["other_member_tables"] == [t for t in p["link_schema_tables"] if owner[t] != p["db_id"]]
        own = {o for m, d, o in pseudo["tables"] if d == p["db_id"]}
        assert set(p["linked_tables"]) <= own  # mapped back to the question's own database
    per = [json.loads(line) for line in (out / "per_example.jsonl").read_text().splitlines()]
    assert len(per) == 4 and all("match" in e for e in per)  # executed on the real .sqlite files
    report = (out / "report.md").read_text()
    assert "Linking inside the pseudo-database (merged names)" in report and "| exact set |" in report
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["pseudo_database_linking"]["questions"] == 4
