"""The recipes train for real: stock ``llamafactory-cli train`` on ``lrsql-convert`` output, on CPU.

Each run overrides only the model path (the tiny offline model), the output folder, the step count
and what CPU needs (``CPU_OVERRIDES``); everything else, data location included, is the recipe's.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

from lrsql_plugin.training import load_recipe
from tests.training.helpers import CPU_OVERRIDES, REPO_ROOT, VENV_BIN, read_dataset, train

STEPS = 3


def overrides(model_dir: Path, output_dir: Path) -> list[str]:
    return [
        f"model_name_or_path={model_dir}",
        f"output_dir={output_dir}",
        f"max_steps={STEPS}",
        *CPU_OVERRIDES,
    ]


def training_rows(workspace: Path, recipe: str) -> list[dict[str, str]]:
    return read_dataset(workspace, load_recipe(REPO_ROOT / "recipes" / f"{recipe}.yaml")["dataset"])


def logit_shift(base_dir: Path, adapter_dir: Path, text: str) -> float:
    """Largest change the adapter makes to the base model's logits on ``text`` (0.0 for an untrained
    LoRA adapter, whose B matrices start at zero)."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    input_ids = AutoTokenizer.from_pretrained(base_dir)(text, return_tensors="pt").input_ids
    model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
    with torch.no_grad():
        before = model(input_ids).logits
        after = PeftModel.from_pretrained(model, adapter_dir)(input_ids).logits
    return (after - before).abs().max().item()


@pytest.mark.slow
@pytest.mark.parametrize(
    "recipe", ["schema_link_lora", "schema_link_qlora", "sql_generation_lora", "sql_generation_qlora"]
)
def test_recipe_trains_an_adapter_that_changes_the_model(recipe, lrsql_workspace, tiny_model_dir, tmp_path):
    output_dir = tmp_path / "adapter"
    proc = train(lrsql_workspace, recipe, overrides(tiny_model_dir, output_dir))
    log = proc.stdout + proc.stderr
    rows = training_rows(lrsql_workspace, recipe)

    assert f"Num examples = {len(rows):,}" in log  # the converter's dataset, found through dataset_dir
    if recipe.endswith("_qlora"):
        assert "Quantizing model to 4 bit with bitsandbytes." in log
    assert json.loads((output_dir / "trainer_state.json").read_text())["global_step"] == STEPS
    adapter = json.loads((output_dir / "adapter_config.json").read_text())
    assert adapter["peft_type"] == "LORA" and adapter["base_model_name_or_path"] == str(tiny_model_dir)
    assert logit_shift(tiny_model_dir, output_dir, rows[0]["instruction"]) > 1e-4


@pytest.mark.slow
@pytest.mark.parametrize(
    ("recipe", "stage", "offload"),
    [("schema_link_lora_ds_z2", 2, False), ("schema_link_lora_ds_z3_offload", 3, True)],
)
def test_deepspeed_recipe_trains_with_two_cpu_processes(
    recipe, stage, offload, lrsql_workspace, tiny_model_dir, tmp_path
):
    output_dir = tmp_path / "adapter"
    launch = {  # LLaMA-Factory's own torchrun launch; `torchrun` is looked up on PATH
        "FORCE_TORCHRUN": "1",
        "NPROC_PER_NODE": "2",
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    proc = train(lrsql_workspace, recipe, overrides(tiny_model_dir, output_dir), env=launch)
    log = proc.stdout + proc.stderr

    assert "world size: 2" in log and "distributed training: True" in log
    step_dir = output_dir / f"checkpoint-{STEPS}" / f"global_step{STEPS}"
    shards = sorted(step_dir.glob("*zero_pp_rank_*_optim_states.pt"))
    assert [shard.name.split("zero_pp_")[1][:6] for shard in shards] == ["rank_0", "rank_1"]
    checkpoint = torch.load(shards[0], map_location="cpu", weights_only=False)
    zero = checkpoint["ds_config"]["zero_optimization"]
    assert zero["stage"] == stage and ("offload_optimizer" in zero) == offload
    optimizer = checkpoint["optimizer_state_dict"]
    assert int(optimizer["zero_stage"]) == stage
    partitions = optimizer["partition_count"]  # per parameter group for ZeRO-2, one number for ZeRO-3
    assert set(partitions if isinstance(partitions, list) else [partitions]) == {2}
    rows = training_rows(lrsql_workspace, recipe)
    assert logit_shift(tiny_model_dir, output_dir, rows[0]["instruction"]) > 1e-4
