"""The shipped recipes: accepted by LLaMA-Factory 0.9.5 and fair to compare with each other."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from lrsql_plugin.training import load_recipe, validate_recipe
from tests.training.helpers import CPU_OVERRIDES, REPO_ROOT, read_dataset

RECIPE_DIR = REPO_ROOT / "recipes"
RECIPES = sorted(RECIPE_DIR.glob("*.yaml"))
DEEPSPEED_CONFIGS = sorted((RECIPE_DIR / "deepspeed").glob("*.json"))

LR_SQL_TASKS = ("schema_link", "sql_generation")
#: The paper's comparison: each LR-SQL model against the full-schema model it replaces.
BASELINE_OF = {"schema_link": "full_schema_link", "sql_generation": "full_schema_sql"}
#: The only keys allowed to differ between an LR-SQL recipe and its baseline. cutoff_len may: it is a
#: ceiling that costs no memory (batches pad to their longest sample) and must exceed each dataset's
#: longest sample, which for the full schema is far longer.
MAY_DIFFER_FROM_BASELINE = {"dataset", "cutoff_len", "output_dir"}
QUANTIZATION_KEYS = {"quantization_bit", "quantization_method", "quantization_type", "double_quantization"}


def recipe(name: str) -> dict:
    return load_recipe(RECIPE_DIR / f"{name}.yaml")


def differing_keys(a: dict, b: dict) -> set[str]:
    return {key for key in a.keys() | b.keys() if a.get(key, "<absent>") != b.get(key, "<absent>")}


def test_every_promised_recipe_ships():
    names = {path.stem for path in RECIPES}
    for task in (*LR_SQL_TASKS, *BASELINE_OF.values()):
        assert {f"{task}_qlora", f"{task}_lora"} <= names
    for task in LR_SQL_TASKS:
        assert {f"{task}_lora_ds_z2", f"{task}_lora_ds_z3", f"{task}_lora_ds_z3_offload"} <= names
    assert {path.name for path in DEEPSPEED_CONFIGS} == {
        "ds_z2_config.json",
        "ds_z3_config.json",
        "ds_z3_offload_config.json",
    }


@pytest.mark.parametrize("path", RECIPES, ids=lambda path: path.stem)
def test_recipe_passes_llamafactory_argument_parser(path: Path, tiny_model_dir, tmp_path, monkeypatch):
    from llamafactory.data.template import TEMPLATES
    from llamafactory.hparams import get_train_args

    overrides = [f"model_name_or_path={tiny_model_dir}", f"output_dir={tmp_path / 'out'}", *CPU_OVERRIDES]
    config = load_recipe(path, overrides)
    validate_recipe(config)  # unknown keys, value types, LLaMA-Factory's argument dataclasses

    # LLaMA-Factory's full training check. For DeepSpeed it also demands a torchrun launch, which a
    # test process is not: those recipes are checked without their `deepspeed` key here, and their
    # DeepSpeed configs below and by a real two-process run.
    config.pop("deepspeed", None)
    monkeypatch.setenv("LLAMAFACTORY_VERBOSITY", "WARN")  # get_train_args would raise global log levels
    model_args, data_args, training_args, finetuning_args, _ = get_train_args(config)
    assert finetuning_args.stage == "sft" and finetuning_args.finetuning_type == "lora"
    assert training_args.do_train
    assert data_args.template in TEMPLATES
    assert model_args.quantization_bit == (4 if "qlora" in path.stem else None)


@pytest.mark.parametrize("variant", ["qlora", "lora"])
@pytest.mark.parametrize("task", LR_SQL_TASKS)
def test_baseline_differs_from_lr_sql_only_in_dataset_cutoff_and_output(task, variant):
    lr_sql, baseline = recipe(f"{task}_{variant}"), recipe(f"{BASELINE_OF[task]}_{variant}")
    assert differing_keys(lr_sql, baseline) == MAY_DIFFER_FROM_BASELINE
    assert baseline["cutoff_len"] >= lr_sql["cutoff_len"]


@pytest.mark.parametrize("task", [*LR_SQL_TASKS, *BASELINE_OF.values()])
def test_lora_recipe_is_the_qlora_recipe_without_quantization(task):
    qlora, lora = recipe(f"{task}_qlora"), recipe(f"{task}_lora")
    assert qlora["quantization_bit"] == 4 and not QUANTIZATION_KEYS & lora.keys()
    assert differing_keys(qlora, lora) == QUANTIZATION_KEYS | {"output_dir"}


@pytest.mark.parametrize("stage", ["z2", "z3", "z3_offload"])
@pytest.mark.parametrize("task", LR_SQL_TASKS)
def test_deepspeed_recipe_is_the_lora_recipe_plus_a_shipped_config(task, stage):
    lora, distributed = recipe(f"{task}_lora"), recipe(f"{task}_lora_ds_{stage}")
    assert differing_keys(lora, distributed) == {"deepspeed"}
    assert (
        distributed["deepspeed"] == f"recipes/deepspeed/ds_{stage}_config.json"
    )  # relative to the launch dir
    assert (REPO_ROOT / distributed["deepspeed"]).is_file()


def test_recipes_train_the_datasets_lrsql_convert_registers(lrsql_workspace):
    for path in RECIPES:
        config = load_recipe(path)
        assert config["dataset_dir"] == "datasets/spider", path.name
        assert read_dataset(lrsql_workspace, config["dataset"]), path.name


@pytest.mark.parametrize(
    ("path", "stage", "offload"),
    [
        (RECIPE_DIR / "deepspeed" / "ds_z2_config.json", 2, False),
        (RECIPE_DIR / "deepspeed" / "ds_z3_config.json", 3, False),
        (RECIPE_DIR / "deepspeed" / "ds_z3_offload_config.json", 3, True),
    ],
    ids=lambda value: value.name if isinstance(value, Path) else None,
)
def test_deepspeed_config_fills_every_auto_from_the_trainer(path, stage, offload, tiny_model_dir, tmp_path):
    from transformers import AutoModelForCausalLM, TrainingArguments
    from transformers.integrations.deepspeed import HfTrainerDeepSpeedConfig, unset_hf_deepspeed_config

    config = load_recipe(RECIPE_DIR / "schema_link_lora.yaml")
    args = TrainingArguments(
        output_dir=str(tmp_path),
        per_device_train_batch_size=config["per_device_train_batch_size"],
        gradient_accumulation_steps=config["gradient_accumulation_steps"],
        learning_rate=config["learning_rate"],
        bf16=config["bf16"],
        use_cpu=True,
    )
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)  # before ZeRO-3 is announced globally
    deepspeed = HfTrainerDeepSpeedConfig(str(path))
    try:
        deepspeed.trainer_config_process(args)
        deepspeed.trainer_config_finalize(args, model, num_training_steps=100)
        assert deepspeed.get_value("zero_optimization.stage") == stage
        assert deepspeed.is_offload() == offload
        assert '"auto"' not in json.dumps(deepspeed.config)
        assert deepspeed.config["bf16"]["enabled"] is True  # follows the recipe's bf16
    finally:
        unset_hf_deepspeed_config()


def test_every_recipe_or_config_the_docs_name_exists():
    documents = [RECIPE_DIR / "README.md", *RECIPES]
    named = {m for doc in documents for m in re.findall(r"recipes/[\w/]+\.(?:yaml|json)", doc.read_text())}
    assert len(named) > 10
    assert sorted(name for name in named if not (REPO_ROOT / name).is_file()) == []
