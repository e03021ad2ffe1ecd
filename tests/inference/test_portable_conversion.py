"""Issue 19 (3): a conversion folder travels.  The manifest names the tokenizer and the templates
folder and hashes their contents; no path of the converting machine is written; inference on
"another machine" accepts copies (found by hash, whatever their folder's name) and refuses a
different tokenizer, naming both."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from lrsql_plugin.cli.evaluate import main as eval_main
from lrsql_plugin.cli.evaluate import settings_from_dataset_and_adapters
from lrsql_plugin.errors import InputError
from lrsql_plugin.manifest import TOKENIZER_FILES, tokenizer_fingerprint
from lrsql_plugin.resources import resource_dir
from tests.convert.conftest import DEMO, run_convert
from tests.fixtures.tiny_model import TINY_MODEL_TEMPLATE
from tests.hardening.fake_openai import FakeOpenAI
from tests.inference.test_prompt_parity import llamafactory_prompt_ids

# What the lead's write_outputs / reports still write with a path of the converting machine.
NOT_YET_PORTABLE = {"stats.json", "report.md"}


def copy_tokenizer(model_dir: Path, dest: Path) -> Path:
    dest.mkdir(parents=True)
    for name in TOKENIZER_FILES:
        if (model_dir / name).is_file():
            shutil.copy(model_dir / name, dest / name)
    return dest


@pytest.fixture(scope="module")
def travelled(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """Convert on "machine A" (tokenizer and templates in A's folders), then move the conversion to
    "machine B" beside copies of both under other names, and delete machine A."""
    root = tmp_path_factory.mktemp("travel")
    a, b = root / "machine_a", root / "machine_b"
    shutil.copytree(DEMO, a / "src")
    tok = copy_tokenizer(tiny_model_dir, a / "models" / "tok")
    shutil.copytree(resource_dir("templates"), a / "tpl")
    r = run_convert("spider", "--spider-dir", a / "src", "--split", "dev", "--tokenizer", tok,
                    "--templates-dir", a / "tpl", "--tables-per-slice", "2", "--out", a / "conv")
    assert r.exit_code == 0, r.output
    outputs = {p.name: p.read_text(encoding="utf-8", errors="replace") for p in (a / "conv").iterdir() if p.is_file()}
    b.mkdir()
    shutil.move(str(a / "conv"), b / "conv")
    shutil.copytree(tok, b / "elsewhere" / "tokenizer-copy")
    shutil.copytree(a / "tpl", b / "my-templates")
    shutil.rmtree(a)
    return {"a": a, "b": b, "conv": b / "conv", "tok": b / "elsewhere" / "tokenizer-copy",
            "tpl": b / "my-templates", "outputs": outputs}


def settings(t: dict, explicit: set[str] = frozenset(), **given: object) -> dict:
    base = {"dataset": str(t["conv"]), "template": TINY_MODEL_TEMPLATE, "engine": "hf", "base": None,
            "tokenizer": None, "templates_dir": None, "tables_per_slice": 5, "tokens_per_slice": None,
            "sample_values": 0, "descriptions": True}
    return settings_from_dataset_and_adapters({**base, **given}, set(explicit))


def test_manifest_and_questions_hold_no_path_of_the_converting_machine(travelled):
    a = str(travelled["a"])
    leaking = sorted(name for name, text in travelled["outputs"].items() if a in text and name not in NOT_YET_PORTABLE)
    assert leaking == []
    manifest = json.loads(travelled["outputs"]["manifest.json"])
    inference = manifest["inference"]
    assert inference["tokenizer"] == "tok" and inference["templates_dir"] == "tpl"
    assert inference["tokenizer_sha256"] == tokenizer_fingerprint(travelled["tok"])[0]
    assert set(inference["tokenizer_files"]) >= {"tokenizer.json", "tokenizer_config.json"}
    assert manifest["settings"]["tokenizer"] == "tok" and manifest["token_count"] == "tokenizer tok"
    sources = {json.loads(line)["source_file"] for line in travelled["outputs"]["questions.jsonl"].splitlines()}
    assert sources == {"dev.json"}


def test_no_output_file_holds_a_path_of_the_converting_machine(travelled):
    a = str(travelled["a"])
    assert sorted(name for name, text in travelled["outputs"].items() if a in text) == []


def test_copies_of_tokenizer_and_templates_elsewhere_are_accepted(travelled):
    out = settings(travelled, {"slice_tokenizer", "templates_dir"}, tokenizer=str(travelled["tok"]),
                   templates_dir=str(travelled["tpl"]))
    assert out["tokenizer"] == str(travelled["tok"]) and out["templates_dir"] == str(travelled["tpl"])
    assert out["tables_per_slice"] == 2  # the conversion's


def test_the_base_models_own_tokenizer_is_accepted_without_tokenizer_flag(travelled, tiny_model_dir, tmp_path):
    base = copy_tokenizer(tiny_model_dir, tmp_path / "base-model")
    shutil.copy(tiny_model_dir / "config.json", base / "config.json")
    out = settings(travelled, {"templates_dir"}, base=str(base), templates_dir=str(travelled["tpl"]))
    assert out["tokenizer"] == str(base)


def test_a_different_tokenizer_is_refused_naming_both(travelled, tmp_path):
    other = shutil.copytree(travelled["tok"], tmp_path / "other-tok")
    config = json.loads((other / "tokenizer_config.json").read_text())
    (other / "tokenizer_config.json").write_text(json.dumps({**config, "model_max_length": 77}))
    recorded = json.loads((travelled["conv"] / "manifest.json").read_text())["inference"]["tokenizer_sha256"]
    mine = tokenizer_fingerprint(other)[0]
    with pytest.raises(InputError) as e:
        settings(travelled, {"slice_tokenizer", "templates_dir"}, tokenizer=str(other), templates_dir=str(travelled["tpl"]))
    message = str(e.value)
    assert str(travelled["conv"] / "manifest.json") in message
    assert f"--tokenizer {other} (sha256 {mine[:12]})" in message
    assert f"the conversion's tokenizer 'tok' (sha256 {recorded[:12]})" in message
    # the same as the base model's tokenizer, without --tokenizer
    (other / "config.json").write_text("{}")
    with pytest.raises(InputError, match=rf"the tokenizer of --base {other} \(sha256 {mine[:12]}\) differs from "
                       rf"the conversion's tokenizer 'tok' \(sha256 {recorded[:12]}\)"):
        settings(travelled, {"templates_dir"}, base=str(other), templates_dir=str(travelled["tpl"]))


def test_without_a_copy_the_error_asks_for_one(travelled, tmp_path):
    with pytest.raises(InputError, match=r"tokenizer 'tok' \(sha256 [0-9a-f]{12}\) is not here.*--tokenizer"):
        settings(travelled, {"templates_dir"}, templates_dir=str(travelled["tpl"]))
    with pytest.raises(InputError, match=r"its own templates.*folder 'tpl'.*give --templates-dir"):
        settings(travelled, {"slice_tokenizer"}, tokenizer=str(travelled["tok"]))
    changed = shutil.copytree(travelled["tpl"], tmp_path / "changed")
    (changed / "sql_generation.j2").write_text("Q: {{ question }}\n")
    with pytest.raises(InputError, match=r"--templates-dir .* \(sha256 [0-9a-f]{12}\) conflicts with the conversion's templates"):
        settings(travelled, {"slice_tokenizer", "templates_dir"}, tokenizer=str(travelled["tok"]), templates_dir=str(changed))


def test_an_older_manifest_with_absolute_paths_still_works_where_they_exist(travelled, tmp_path):
    old = shutil.copytree(travelled["conv"], tmp_path / "old-conv")
    manifest = json.loads((old / "manifest.json").read_text())
    for key in ("tokenizer_sha256", "tokenizer_files"):
        manifest["inference"].pop(key)
    manifest["inference"].update(tokenizer=str(travelled["tok"]), templates_dir=str(travelled["tpl"]))
    (old / "manifest.json").write_text(json.dumps(manifest))
    out = settings(travelled, dataset=str(old))
    assert out["tokenizer"] == str(travelled["tok"]) and out["templates_dir"] == str(travelled["tpl"])
    same = settings(travelled, {"slice_tokenizer"}, dataset=str(old), tokenizer=str(travelled["tok"]))
    assert same["tokenizer"] == str(travelled["tok"])
    manifest["inference"]["tokenizer"] = str(tmp_path / "gone")
    (old / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(InputError, match="no longer exists"):
        settings(travelled, dataset=str(old))


def test_lrsql_eval_on_the_travelled_folder_sends_the_training_prompts(travelled, tiny_model_dir, tmp_path):
    """The whole command on machine B: the moved conversion, the copies, the openai engine against a
    server with /v1/completions; every prompt it receives is a training prompt, token for token."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(travelled["tok"]))
    with FakeOpenAI(decode=tok.decode) as server:
        result = CliRunner().invoke(eval_main, [
            "--engine", "openai", "--api-base", server.url, "--dataset", str(travelled["conv"]), "--spider-dir", str(DEMO),
            "--tokenizer", str(travelled["tok"]), "--templates-dir", str(travelled["tpl"]), "--template",
            TINY_MODEL_TEMPLATE, "--limit", "4", "--out", str(tmp_path / "out"), "--no-progress",
        ])
    assert result.exit_code == 0, result.output
    assert "server's chat template applies" not in result.output
    assert server.received and all(path.endswith("/v1/completions") for path, _ in server.received)
    training = {tuple(ids) for ids in llamafactory_prompt_ids(tiny_model_dir, travelled["conv"], "lrsql_schema_link",
                                                             TINY_MODEL_TEMPLATE)}
    link = [tuple(body["prompt"]) for _, body in server.received if body["model"] == "schema_link"]
    assert len(link) >= 4 and all(ids in training for ids in link)


def test_a_merged_conversions_manifest_holds_no_path_either(tmp_path):
    members = tmp_path / "machine_a" / "members.txt"
    members.parent.mkdir()
    tables = json.loads((DEMO / "tables.json").read_text())
    members.write_text("\n".join(t["db_id"] for t in tables[:2]) + "\n")
    r = run_convert("spider", "--spider-dir", DEMO, "--split", "dev", "--merge-dbs", members, "--out", tmp_path / "conv")
    assert r.exit_code == 0, r.output
    for name in ("manifest.json", "questions.jsonl"):
        assert str(tmp_path) not in (tmp_path / "conv" / name).read_text(), name
    manifest = json.loads((tmp_path / "conv" / "manifest.json").read_text())
    assert manifest["merge"]["merge_dbs"] == "members.txt" and manifest["settings"]["merge_dbs"] == "members.txt"
