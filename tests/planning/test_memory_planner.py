"""The memory planner (issue 9): calibrated against the GPU figures of SPEC §7 and the CPU benchmark."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from lrsql_plugin.cli.plan import main as plan_main
from lrsql_plugin.planning import ModelShape, TrainSetup, cutoff_warnings, estimate_peak, plan_dataset
from lrsql_plugin.planning.architectures import ARCHITECTURES

QWEN = ModelShape.from_config("qwen2.5-7b-instruct")
REPO = Path(__file__).resolve().parents[2]

#: SPEC §7 / issue 9: one H100, random-initialised Qwen2.5-7B shapes, bf16, batch 1, checkpointing
#: on, a 321-table merged Spider schema: slices at most 621 tokens, full-schema prompts ~18,000.
GPU_FIGURES = [
    ("lora", True, 621, 16.2),
    ("lora", True, 18000, 50.5),
    ("qlora", True, 621, 7.0),
    ("qlora", True, 18000, 41.2),
    ("lora", False, 621, 20.9),
]


def test_parameter_count_of_qwen2_5_7b_from_its_config():
    assert QWEN.params == pytest.approx(7.6e9, rel=0.01)  # Qwen2.5-7B: 7.61 B
    assert QWEN.lora_params(16) == pytest.approx(40.4e6, rel=0.01)


def test_smollm2_config_gives_135m_parameters():
    assert ModelShape.from_dict(ARCHITECTURES["smollm2-135m"]).params == pytest.approx(134.5e6, rel=0.01)


@pytest.mark.parametrize(("method", "checkpointing", "tokens", "measured_gib"), GPU_FIGURES)
def test_gpu_predictions_within_15_percent(method, checkpointing, tokens, measured_gib):
    predicted = estimate_peak(QWEN, TrainSetup(method, 16, 1, checkpointing), tokens).gib
    assert abs(predicted / measured_gib - 1) <= 0.15, (predicted, measured_gib)


def test_full_schema_without_checkpointing_does_not_fit_on_80_gb():
    assert estimate_peak(QWEN, TrainSetup("lora", checkpointing=False), 18000).gib > 80


def test_memory_grows_with_batch_tokens_rank_and_shrinks_with_qlora_and_checkpointing():
    base = estimate_peak(QWEN, TrainSetup(), 1000).total_bytes
    assert estimate_peak(QWEN, TrainSetup(batch=2), 1000).total_bytes > base
    assert estimate_peak(QWEN, TrainSetup(), 2000).total_bytes > base
    assert estimate_peak(QWEN, TrainSetup(rank=64), 1000).total_bytes > base
    assert estimate_peak(QWEN, TrainSetup("qlora"), 1000).total_bytes < base
    assert estimate_peak(QWEN, TrainSetup(checkpointing=False), 1000).total_bytes > base


def test_plan_dataset_gives_both_pairs_and_ratios():
    plan = plan_dataset(QWEN, {"schema_link": 621, "full_schema_link": 18000, "sql_generation": 300})
    assert set(plan["pairs"]) == {"lora", "qlora"}
    assert plan["pairs"]["lora"]["ratio"] == pytest.approx(16.2 / 50.5, abs=0.05)
    assert plan["pairs"]["qlora"]["ratio"] == pytest.approx(7.0 / 41.2, abs=0.05)


def test_cutoff_warning_names_the_full_schema_recipes_when_samples_exceed_their_cutoff():
    warnings = cutoff_warnings({"schema_link": 621, "full_schema_link": 40000, "full_schema_sql": 500})
    recipes = {w["recipe"] for w in warnings}
    assert recipes == {"full_schema_link_lora", "full_schema_link_qlora"}
    assert all(w["longest"] == 40000 and w["cutoff_len"] < 40000 for w in warnings)
    lr_sql = cutoff_warnings({"schema_link": 3000})
    assert lr_sql and {w["kind"] for w in lr_sql} == {"schema_link"}


def test_shipped_recipes_do_not_truncate_the_18k_token_merged_schema():
    # issue 9: the full-schema baselines' cutoff_len 16384 silently cut every ~18k-token sample
    assert cutoff_warnings({"schema_link": 621, "full_schema_link": 18000, "full_schema_sql": 18000}) == []


def test_recipe_cutoff_is_read_from_the_recipe_files(tmp_path):
    (tmp_path / "x.yaml").write_text("dataset: lrsql_schema_link\ncutoff_len: 100\n")
    assert cutoff_warnings({"schema_link": 101}, tmp_path) == [
        {"recipe": "x", "kind": "schema_link", "cutoff_len": 100, "longest": 101}
    ]


def test_cli_prints_the_plan_and_the_truncation_warning():
    result = CliRunner().invoke(plan_main, ["--model-config", "qwen2.5-7b-instruct", "--longest", "621", "--full-longest", "18000"])
    assert result.exit_code == 0, result.output
    assert "lora r16, batch 1, checkpointing on: schema_link 16.2 GiB, full_schema_link 50." in result.output
    assert "WARNING" not in result.output
    longer = CliRunner().invoke(plan_main, ["--model-config", "qwen2.5-7b-instruct", "--longest", "621", "--full-longest", "40000"])
    assert "WARNING: recipe full_schema_link_lora has cutoff_len 32768" in longer.output


def test_cli_reads_a_config_json_and_a_converted_dataset(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(ARCHITECTURES["qwen2.5-7b-instruct"]))
    stats = {"kinds": {k: {"samples": 3, "total_tokens": {"max": n}}
                       for k, n in (("schema_link", 621), ("full_schema_link", 18000))}}
    (tmp_path / "stats.json").write_text(json.dumps(stats))
    result = CliRunner().invoke(plan_main, ["--model-config", str(tmp_path), "--dataset", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    assert plan["pairs"]["qlora"]["schema_link"]["peak_gib"] == pytest.approx(7.0, rel=0.15)
    assert plan["longest"] == {"schema_link": 621, "full_schema_link": 18000}


def test_cli_errors_without_lengths_or_with_an_unknown_model():
    assert CliRunner().invoke(plan_main, ["--model-config", "qwen2.5-7b-instruct"]).exit_code == 2
    r = CliRunner().invoke(plan_main, ["--model-config", "no-such-model", "--longest", "5", "--full-longest", "9"])
    assert r.exit_code == 2 and "not a known architecture" in r.output


def test_convert_report_shows_the_estimate_with_a_model_config(tmp_path):
    from tests.convert.test_convert_spider import run_convert

    out = tmp_path / "demo"
    result = run_convert("spider", "--spider-dir", REPO / "datasets" / "demo", "--questions", "train.json",
                         "--model-config", "qwen2.5-7b-instruct", "--out", out)
    assert result.exit_code == 0, result.output
    assert "planned peak training memory (qwen2.5-7b-instruct" in result.output
    stats = json.loads((out / "stats.json").read_text())
    longest = stats["kinds"]["schema_link"]["total_tokens"]["max"]
    expected = estimate_peak(QWEN, TrainSetup("qlora"), longest).as_dict()["peak_gib"]
    assert stats["memory_plan"]["pairs"]["qlora"]["schema_link"]["peak_gib"] == expected


def test_conversion_report_warns_when_a_recipe_would_truncate():
    from lrsql_plugin.hparams.convert_args import ConvertArguments
    from lrsql_plugin.report.plan_section import add_plan_sections, plan_lines
    from lrsql_plugin.tokens import load_token_counter

    kinds = {k: {"samples": 5, "total_tokens": {"max": n}, "tokens_per_epoch": 5 * n}
             for k, n in (("schema_link", 600), ("sql_generation", 300), ("full_schema_link", 40000),
                          ("full_schema_sql", 900))}
    report = add_plan_sections({"kinds": kinds}, None, load_token_counter(None),
                               ConvertArguments(model_config="qwen2.5-7b-instruct"))
    lines = plan_lines(report)
    assert [w["recipe"] for w in report["cutoff_warnings"]] == ["full_schema_link_lora", "full_schema_link_qlora"]
    assert sum(line.startswith("WARNING: recipe full_schema_link") for line in lines) == 2
    assert report["memory_plan"]["longest"] == {"schema_link": 600, "full_schema_link": 40000}
    assert "tokens per epoch: schema_link 3,000 vs full_schema_link 200,000" in "\n".join(lines)


def test_cpu_predictions_within_15_percent_of_the_recorded_benchmark():
    recorded = REPO / "bench" / "results" / "memory_cpu.json"
    result = json.loads(recorded.read_text())
    shape = ModelShape.from_config("smollm2-135m")
    assert result["model_params"] == shape.params  # the benchmark's model is this architecture
    runs = [r for r in result["runs"] if r["ok"]]
    assert len(runs) == 8  # both pairs, LoRA and QLoRA, checkpointing on and off
    for r in runs:
        setup = TrainSetup(r["method"], 16, result["batch"], r["checkpointing"], 4, "cpu")
        predicted = estimate_peak(shape, setup, r["longest_trained_tokens"]).gib
        assert abs(predicted / r["peak_gib"] - 1) <= 0.15, (r["recipe"], r["checkpointing"], predicted, r["peak_gib"])
