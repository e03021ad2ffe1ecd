"""Issue 19 (4b): the openai engine sends the training prompts token for token.

With the template of training and a local tokenizer, prompts are rendered by LLaMA-Factory's template
(the hf engine's ``PromptEncoder``) and sent as token ids to ``/v1/completions``; a local fake server
records what it receives, which must be LLaMA-Factory's own encoding of the training samples, for
templates whose layout differs from the tokenizer's chat template (``llama3``, ``default``) too.
A chat-only server (``llamafactory-cli api``) gets chat messages, with one warning line.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lrsql_plugin.cli.evaluate import settings_from_dataset_and_adapters
from lrsql_plugin.hparams.infer_args import InferenceArguments
from lrsql_plugin.inference.engines.base import SCHEMA_LINK, SQL_GENERATION
from lrsql_plugin.inference.engines.openai_api import OpenAIEngine, local_encoder
from lrsql_plugin.inference.run import engine_from_arguments, run_inference
from lrsql_plugin.prompts.render import Prompt
from lrsql_plugin.sources.spider import load_spider
from tests.convert.conftest import DEMO, run_convert
from tests.hardening.fake_openai import FakeOpenAI
from tests.inference.test_prompt_parity import llamafactory_prompt_ids

LIMIT = 5


@pytest.fixture(scope="module")
def conversion(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("openai_prompts") / "conv"
    r = run_convert("spider", "--spider-dir", DEMO, "--split", "dev", "--limit", str(LIMIT), "--tables-per-slice", "2",
                    "--out", out)
    assert r.exit_code == 0, r.output
    return out


def openai_args(conversion: Path, url: str, template: str, base: Path, **kw: object) -> InferenceArguments:
    given = {"engine": "openai", "api_base": url, "dataset": str(conversion), "template": template, "base": str(base),
             "tables_per_slice": 5, "tokens_per_slice": None, "tokenizer": None, "sample_values": 0,
             "templates_dir": None, "descriptions": True, "limit": LIMIT, **kw}
    return InferenceArguments(**settings_from_dataset_and_adapters(given, explicit=set()))


@pytest.mark.parametrize("template", ["qwen", "llama3", "default"])
def test_completions_receive_llamafactorys_training_prompt_ids(conversion, tiny_model_dir, tmp_path, template):
    from transformers import AutoTokenizer

    train_link = {tuple(i) for i in llamafactory_prompt_ids(tiny_model_dir, conversion, "lrsql_schema_link", template)}
    train_sql = {tuple(i) for i in llamafactory_prompt_ids(tiny_model_dir, conversion, "lrsql_sql_generation", template)}
    data = load_spider(DEMO, "dev")
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model_dir))
    with FakeOpenAI(decode=tokenizer.decode) as server:
        # the schema-link model answers None: every slice is asked with an empty memory, as in training
        run_inference(data, openai_args(conversion, server.url, template, tiny_model_dir), tmp_path / "a", progress=False)
        # gold tables: the SQL prompts are the training ones
        gold = openai_args(conversion, server.url, template, tiny_model_dir, gold_tables=True)
        run_inference(data, gold, tmp_path / "b", progress=False)
    assert {path for path, _ in server.received} == {"/v1/completions"}
    link = [tuple(b["prompt"]) for _, b in server.received if b["model"] == SCHEMA_LINK]
    sql = [tuple(b["prompt"]) for _, b in server.received if b["model"] == SQL_GENERATION]
    assert all(isinstance(i, int) for ids in link + sql for i in ids)
    assert len(link) > LIMIT and set(link) <= train_link
    sql_gold = sql[-LIMIT:]  # those of the --gold-tables run
    assert len(set(sql_gold)) == LIMIT and set(sql_gold) <= train_sql
    encoder = local_encoder(template, str(tiny_model_dir))
    stops = {tuple(b["stop_token_ids"]) for _, b in server.received}
    assert stops == {tuple(encoder.stop_token_ids)}
    if template != "qwen":  # what a server's own (the tokenizer's ChatML) template would have sent instead
        first = json.loads((conversion / "schema_link.json").read_text())[0]
        chat = tokenizer.apply_chat_template(
            [{"role": "system", "content": first["system"]}, {"role": "user", "content": first["instruction"] + "\n" + first["input"]}],
            add_generation_prompt=True, tokenize=True, return_dict=True,
        )["input_ids"]
        assert tuple(chat) not in train_link


def test_engine_from_arguments_renders_locally_with_a_template_and_a_tokenizer(tiny_model_dir, conversion):
    args = openai_args(conversion, "http://unused/v1", "llama3", tiny_model_dir)
    engine = engine_from_arguments(args)
    assert isinstance(engine, OpenAIEngine) and engine.encoder.template_name == "llama3"
    lines: list[str] = []
    assert OpenAIEngine({SQL_GENERATION: ("http://unused/v1", SQL_GENERATION)}, warn=lines.append).encoder is None
    assert len(lines) == 1 and "server's chat template applies" in lines[0]


def test_a_chat_only_server_gets_chat_messages_and_one_warning(tiny_model_dir):
    lines: list[str] = []
    prompts = [Prompt(system="s", instruction=f"question {i}", input="") for i in range(12)]
    with FakeOpenAI(completions=False) as server:
        engine = OpenAIEngine({SQL_GENERATION: (server.url, SQL_GENERATION)}, concurrency=4, retries=0,
                              encoder=local_encoder("qwen", str(tiny_model_dir)), warn=lines.append)
        first = engine.generate(prompts, SQL_GENERATION, 8)
        again = engine.generate(prompts, SQL_GENERATION, 8)
    assert first == again and all(a.startswith("SELECT") for a in first)
    assert len(lines) == 1 and f"{server.url} has no /completions (HTTP 404)" in lines[0]
    assert "server's chat template applies" in lines[0]
    tried = [path for path, _ in server.received if path == "/v1/completions"]
    assert 1 <= len(tried) <= 4  # at most the requests already in flight when the first 404 came back
    assert sum(path == "/v1/chat/completions" for path, _ in server.received) == 2 * len(prompts)
