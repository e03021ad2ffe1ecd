"""Issue 19 (4a): the chat template at inference is the one of training, never a silent default.

``llamafactory-cli train`` records the template nowhere in its output folder (only the web UI writes
``training_args.yaml``); ``lrsql_plugin.training.run_training`` writes it, ``lrsql-eval`` reads it,
and without it ``--template`` is required for the hf and vllm engines.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from lrsql_plugin.cli.evaluate import settings_from_dataset_and_adapters
from lrsql_plugin.errors import InputError
from lrsql_plugin.hparams.infer_args import InferenceArguments
from lrsql_plugin.inference.run import engine_from_arguments
from lrsql_plugin.manifest import adapter_training_settings
from lrsql_plugin.training import recipe as recipe_module


def adapter(folder: Path, base: str = "/models/base", template: str | None = None) -> Path:
    folder.mkdir(parents=True)
    (folder / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": base}))
    (folder / "adapter_model.safetensors").write_bytes(b"")
    if template:
        (folder / "training_args.yaml").write_text(f"template: {template}\nmodel_name_or_path: {base}\n")
    return folder


def test_the_default_template_is_none():
    assert InferenceArguments(base="m", schema_link_adapter="l", sql_adapter="s").template is None


def test_without_a_recorded_template_the_flag_is_required_naming_the_adapters(tmp_path):
    link, sql = adapter(tmp_path / "link"), adapter(tmp_path / "sql")
    given = {"schema_link_adapter": str(link), "sql_adapter": str(sql), "template": None, "base": None,
             "api_base": None, "engine": "hf"}
    with pytest.raises(InputError) as e:
        settings_from_dataset_and_adapters(given, set())
    assert str(e.value).startswith(f"{link}, {sql}: no chat template") and "give --template" in str(e.value)
    assert settings_from_dataset_and_adapters({**given, "template": "qwen"}, {"template"})["template"] == "qwen"
    # bm25 needs no model, and the openai engine can do without (chat messages, with a warning)
    assert settings_from_dataset_and_adapters({**given, "linker": "bm25"}, set())["template"] is None
    assert settings_from_dataset_and_adapters({**given, "engine": "openai"}, set())["template"] is None


def test_the_adapters_recorded_template_is_used_and_adapters_must_agree(tmp_path):
    link = adapter(tmp_path / "link", template="llama3")
    sql = adapter(tmp_path / "sql")
    given = {"schema_link_adapter": str(link), "sql_adapter": str(sql), "template": None, "base": None, "api_base": None}
    out = settings_from_dataset_and_adapters(given, set())
    assert out["template"] == "llama3" and out["base"] == "/models/base" and "template_source" not in out
    other = adapter(tmp_path / "sql2", template="qwen")
    with pytest.raises(InputError, match=rf"trained with template 'qwen', but {link / 'training_args.yaml'} says 'llama3'"):
        settings_from_dataset_and_adapters({**given, "sql_adapter": str(other)}, set())


def test_the_engine_is_not_built_without_a_template():
    with pytest.raises(InputError, match="--template: the hf engine needs the LLaMA-Factory chat template"):
        engine_from_arguments(InferenceArguments(base="m", schema_link_adapter="l", sql_adapter="s"))


def test_run_training_records_the_template_where_lrsql_eval_reads_it(tmp_path, monkeypatch):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("model_name_or_path: some/model\nstage: sft\ndo_train: true\nfinetuning_type: lora\n"
                      "lora_target: all\ndataset: lrsql_schema_link\ntemplate: llama3\noutput_dir: saves/x\n")

    def fake_train(cmd, cwd=None, env=None, check=False):  # llamafactory-cli train: the adapter folder, no template
        adapter(Path(cwd) / "saves" / "x", base="some/model")
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(recipe_module.subprocess, "run", fake_train)
    recipe_module.run_training(recipe, ["template=qwen"], cwd=tmp_path)
    saved = adapter_training_settings(tmp_path / "saves" / "x")
    assert saved["template"] == "qwen" and saved["base"] == "some/model"  # the override, as training used it
