"""Settings are declared once: on the hparams dataclasses (name, default, help, choices), and the
options of ``lrsql-eval`` and ``lrsql-predict`` are generated from them (``lrsql_plugin.cli.options``).

No model is loaded: the commands are parsed (``make_context``) or stopped at the first step after
their settings are built.
"""

from __future__ import annotations

import dataclasses

import click
import pytest
from click.testing import CliRunner

from lrsql_plugin.cli import evaluate, predict
from lrsql_plugin.cli.options import field_default, option_help, values_given
from lrsql_plugin.hparams.eval_args import EvalArguments
from lrsql_plugin.hparams.infer_args import InferenceArguments

EVAL_FIELDS = dataclasses.fields(EvalArguments)
INFERENCE_FIELDS = dataclasses.fields(InferenceArguments)

# lrsql-eval options that are no setting of either dataclass: where the data are, and how to run.
EVAL_SOURCE_OPTIONS = {
    "gold", "pred", "db", "table", "out", "jsonl", "spider_dir", "bird_dir", "spider2_dir", "db_dir", "ddl_dir",
    "dialect", "split", "questions", "overwrite", "progress", "progress_each",
}
# Every flag spelling lrsql-eval and lrsql-predict accepted before the options were generated.
EVAL_FLAGS = {
    "--allow-gold-errors", "--api-base", "--base", "--batch-size", "--batch-tokens", "--bird-dir", "--chunk-size",
    "--concurrency", "--dataset", "--db", "--db-dir", "--ddl-dir", "--dialect", "--dtype", "--engine", "--etype",
    "--full-schema-link", "--gold", "--gold-tables", "--jsonl", "--keep-distinct", "--keep_distinct", "--limit",
    "--link-max-new-tokens", "--link-only", "--linker", "--max-rows", "--no-descriptions", "--no-progress", "--out",
    "--overwrite", "--plug-value", "--plug_value", "--pred", "--progress", "--progress_bar_for_each_datapoint",
    "--questions", "--resume", "--sample-values", "--schema-link-adapter", "--semantics", "--skip-missing-db",
    "--spider-dir", "--spider2-dir", "--split", "--sql-adapter", "--sql-api-base", "--sql-max-new-tokens", "--table",
    "--tables-per-slice", "--template", "--templates-dir", "--timeout", "--tokenizer", "--tokens-per-slice", "--top-k",
    "--workers",
}
PREDICT_FLAGS = {
    "--api-base", "--base", "--dataset", "--db-dir", "--db-id", "--dtype", "--engine", "--evidence", "--execute",
    "--link-max-new-tokens", "--question", "--rows", "--schema-link-adapter", "--sql-adapter", "--sql-api-base",
    "--sql-max-new-tokens", "--tables-per-slice", "--template", "--timeout", "--tokenizer", "--tokens-per-slice",
    "--verbose", "-v",
}


def options_of(command: click.Command) -> dict[str, click.Option]:
    return {p.name: p for p in command.params if isinstance(p, click.Option)}


def eval_param(field_name: str) -> str:
    """The click parameter name of a dataclass field in lrsql-eval."""
    return evaluate._PARAM_NAMES.get(field_name, field_name)


def parse(command: click.Command, args: list[str]) -> dict[str, object]:
    with command.make_context(command.name or "cmd", args) as ctx:
        return dict(ctx.params)


def flags_of(command: click.Command) -> set[str]:
    return {o for p in command.params for o in (*p.opts, *p.secondary_opts)}


# --- every setting has exactly one option, with the field's default and help ---------------------


@pytest.mark.parametrize("f", [*EVAL_FIELDS, *INFERENCE_FIELDS], ids=lambda f: f.name)
def test_each_setting_is_one_lrsql_eval_option_with_the_fields_default_and_help(f):
    matching = [p for p in evaluate.main.params if p.name == eval_param(f.name)]
    assert len(matching) == 1, f"{f.name}: {len(matching)} options"
    [option] = matching
    assert option.help == option_help(f)
    assert f.metadata["help"].rstrip(".") in option.help
    if "default_text" in f.metadata:  # the command or the dataclass fills the value in; the help says which
        assert option.default is None
        assert option.show_default == f.metadata["default_text"]
    else:
        assert option.default == field_default(f)
    if "choices" in f.metadata:
        assert list(option.type.choices) == list(f.metadata["choices"])


def test_lrsql_eval_declares_no_setting_by_hand():
    generated = {eval_param(f.name) for f in (*EVAL_FIELDS, *INFERENCE_FIELDS)}
    assert set(options_of(evaluate.main)) == generated | EVAL_SOURCE_OPTIONS
    assert not generated & EVAL_SOURCE_OPTIONS


def test_every_earlier_flag_spelling_is_still_accepted():
    assert not EVAL_FLAGS - flags_of(evaluate.main)
    assert not PREDICT_FLAGS - flags_of(predict.main)


def test_flag_spellings_follow_the_field_names():
    options = options_of(evaluate.main)
    assert options["keep_distinct"].opts == ["--keep-distinct", "--keep_distinct"]
    assert options["plug_value"].opts == ["--plug-value", "--plug_value"]
    assert options["slice_tokenizer"].opts == ["--tokenizer"]
    assert options["use_gold_tables"].opts == ["--gold-tables"]
    assert options["descriptions"].opts == ["--no-descriptions"]
    assert options["share_prefix"].opts == ["--no-share-prefix"]
    assert options["prompt_layout"].opts == ["--prompt-layout"]


def test_the_help_text_comes_from_the_dataclass():
    text = CliRunner().invoke(evaluate.main, ["--help"], terminal_width=1000).output
    for f in (*EVAL_FIELDS, *INFERENCE_FIELDS):
        assert option_help(f) in text, f.name
    assert "[default: (min(4, CPUs))]" in text
    assert "[default: (spider; bird with --bird-dir)]" in text


def test_lrsql_predict_generates_its_model_settings_from_inference_arguments():
    by_name = {f.name: f for f in INFERENCE_FIELDS}
    options = options_of(predict.main)
    for name in (*predict.MODEL_SETTINGS, "dataset"):
        assert options[name].help == option_help(by_name[name])
        if name not in ("tables_per_slice", "prompt_layout"):
            assert options[name].default == field_default(by_name[name])
    # without --dataset the slicing is the user's to give: no default slice size; the layout is the
    # conversion's unless given (a default passed on would conflict with a question-first conversion)
    assert options["tables_per_slice"].default is None and options["prompt_layout"].default is None


# --- the parsed values are the dataclass's keyword arguments -------------------------------------


def test_no_share_prefix_and_prompt_layout_parse_into_the_inference_arguments():
    params = parse(evaluate.main, ["--no-share-prefix", "--prompt-layout", "question-first", "--base", "b",
                                   "--sql-adapter", "s", "--gold-tables", "--tokenizer", "tok"])
    args = InferenceArguments(**values_given(InferenceArguments, params, evaluate._PARAM_NAMES))
    assert args.share_prefix is False
    assert args.prompt_layout == "question-first"
    assert args.gold_tables is True
    assert args.tokenizer == "tok"


def test_left_out_options_give_the_dataclass_defaults():
    params = parse(evaluate.main, [])
    assert InferenceArguments(**{**values_given(InferenceArguments, params, evaluate._PARAM_NAMES),
                                 "base": "b", "sql_adapter": "s", "gold_tables": True}) == \
        InferenceArguments(base="b", sql_adapter="s", gold_tables=True)
    given = values_given(EvalArguments, params)
    assert "workers" not in given  # None stands for the default_factory's min(4, CPUs)
    assert EvalArguments(**{**given, "semantics": "spider"}) == EvalArguments()


def test_official_underscore_spellings_parse_like_the_dashed_ones():
    params = parse(evaluate.main, ["--keep_distinct", "--plug_value"])
    assert params["keep_distinct"] is True and params["plug_value"] is True


def test_an_unknown_prompt_layout_exits_2_naming_the_choices():
    result = CliRunner().invoke(evaluate.main, ["--prompt-layout", "x"])
    assert result.exit_code == 2
    assert "Invalid value for '--prompt-layout'" in result.output
    assert "'x' is not one of 'slice-first', 'question-first'" in result.output


class Stop(Exception):
    """Raised in place of the model checks: the settings in effect were built."""


def test_inference_runs_with_the_prompt_layout_and_share_prefix_given(tmp_path, monkeypatch):
    import lrsql_plugin.inference.preflight as preflight

    seen = []

    def stop(args):
        seen.append(args)
        raise Stop

    monkeypatch.setattr(preflight, "check_inference_models", stop)
    (tmp_path / "spider").mkdir()
    result = CliRunner().invoke(evaluate.main, [
        "--base", "b", "--schema-link-adapter", "l", "--sql-adapter", "s", "--template", "qwen",
        "--spider-dir", str(tmp_path / "spider"), "--out", str(tmp_path / "out"),
        "--no-share-prefix", "--prompt-layout", "question-first", "--tables-per-slice", "4", "--top-k", "3",
    ])
    assert isinstance(result.exception, Stop), result.output
    [args] = seen
    expected = {**dataclasses.asdict(InferenceArguments(base="b", schema_link_adapter="l", sql_adapter="s")),
                "template": "qwen", "share_prefix": False, "prompt_layout": "question-first", "tables_per_slice": 4,
                "top_k": 3}
    assert dataclasses.asdict(args) == expected


@pytest.mark.parametrize(("extra", "semantics"), [([], "bird"), (["--semantics", "spider"], "spider")])
def test_semantics_defaults_to_bird_with_bird_dir_unless_given(tmp_path, monkeypatch, extra, semantics):
    import json

    seen = []
    monkeypatch.setattr(evaluate, "evaluate_and_write", lambda items, db_root, settings, *a, **k: seen.append(settings))
    (tmp_path / "bird" / "dev_databases").mkdir(parents=True)
    jsonl = tmp_path / "items.jsonl"
    jsonl.write_text(json.dumps({"db_id": "d", "question": "q", "gold": "SELECT 1", "prediction": "SELECT 1"}) + "\n")
    result = CliRunner().invoke(evaluate.main, ["--bird-dir", str(tmp_path / "bird"), "--jsonl", str(jsonl),
                                                "--workers", "2", *extra])
    assert result.exit_code == 0, result.output
    assert seen == [EvalArguments(semantics=semantics, workers=2)]
