"""The offline test models are what the training tests assume they are."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from tests.fixtures.tiny_model import TINY_MODEL_TEMPLATE

CONVERSATION = [
    {"role": "system", "content": "You are a database expert. You write correct SQLite queries."},
    {"role": "user", "content": "Question: How many singers do we have?\nCREATE TABLE singer (id number);"},
    {"role": "assistant", "content": "SELECT count(*) FROM singer"},
]


def llamafactory_encoding(model_dir, template_name: str) -> tuple[list[int], list[int]]:
    """Prompt and answer ids as LLaMA-Factory's stock template lays out CONVERSATION for training."""
    from llamafactory.data import get_template_and_fix_tokenizer
    from llamafactory.hparams import DataArguments

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    template = get_template_and_fix_tokenizer(tokenizer, DataArguments(template=template_name))
    return template.encode_oneturn(tokenizer, CONVERSATION[1:], system=CONVERSATION[0]["content"])


def chat_template_ids(model_dir, messages, **kwargs) -> list[int]:
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    return tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True, **kwargs)["input_ids"]


def test_tiny_model_is_a_small_bias_free_llama(tiny_model_dir):
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    config = model.config
    assert config.model_type == "llama"
    assert (config.hidden_size, config.num_hidden_layers, config.num_attention_heads) == (64, 2, 4)
    assert not config.attention_bias and not config.mlp_bias
    assert not any(name.endswith(".bias") for name, _ in model.named_parameters())
    assert sum(p.numel() for p in model.parameters()) < 10_000_000


def test_tokenizer_special_tokens_are_smollm2_instructs(tiny_model_dir):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    assert (tokenizer.bos_token, tokenizer.eos_token, tokenizer.pad_token) == (
        "<|im_start|>",
        "<|im_end|>",
        "<|im_end|>",
    )
    assert len(tokenizer) == 49152


@pytest.mark.parametrize("template_name", [TINY_MODEL_TEMPLATE, "qwen"])
def test_stock_llamafactory_template_matches_the_tokenizers_chat_template(tiny_model_dir, template_name):
    # `qwen` (the recipes' template) differs from `smollm2` only in its default system text, which
    # never appears because lrsql always emits a system prompt: both must give identical ids.
    prompt_ids, answer_ids = llamafactory_encoding(tiny_model_dir, template_name)
    assert prompt_ids + answer_ids == chat_template_ids(tiny_model_dir, CONVERSATION)
    assert prompt_ids == chat_template_ids(tiny_model_dir, CONVERSATION[:2], add_generation_prompt=True)


@pytest.mark.slow
def test_smollm2_is_the_real_instruct_model(smollm2_dir):
    tokenizer = AutoTokenizer.from_pretrained(smollm2_dir)
    model = AutoModelForCausalLM.from_pretrained(smollm2_dir)
    inputs = tokenizer.apply_chat_template(
        [{"role": "user", "content": "What is the capital of France?"}],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )
    with torch.no_grad():
        output = model.generate(**inputs, max_new_tokens=12, do_sample=False)
    reply = tokenizer.decode(output[0, inputs["input_ids"].shape[1] :])
    assert "Paris" in reply
