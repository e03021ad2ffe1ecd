"""Shared prefill (issue 20): the prompts of one slice share their schema, which is prefilled once.

The hf engine groups a call's prompts by a long common token prefix, prefills it once and continues
every batch from a copy of its KV cache; answers equal those of prefilling each prompt whole.
"""

from __future__ import annotations

import pytest

from lrsql_plugin.inference.engines.base import SCHEMA_LINK, prefix_order, shared_prefix_groups
from lrsql_plugin.prompts.layout import QUESTION_FIRST, SLICE_FIRST
from lrsql_plugin.prompts.render import PromptRenderer
from lrsql_plugin.schema.model import Column, Table
from tests.fixtures.tiny_model import TINY_MODEL_TEMPLATE

TABLES = [Table(f"table_{i}", [Column(f"col_{j}_{i}", "text") for j in range(12)]) for i in range(6)]
QUESTIONS = ["How many rows?", "Which table_1 has the most col_3_1?", "List every col_0_2 of table_2 by name.", "Why?"]


def wave(renderer: PromptRenderer, part: int = 2) -> list:
    """Slice ``part`` of 3 for every question, half of them with a memory, plus one unrelated SQL prompt."""
    prompts = [renderer.schema_link(q, TABLES[:4] if part == 2 else TABLES[4:], ["table_5"] if k % 2 else [],
                                    part=part, parts=3) for k, q in enumerate(QUESTIONS)]
    return [*prompts, renderer.sql_generation("How many?", TABLES[:1])]


# --- grouping ---------------------------------------------------------------------------------------


def test_groups_hold_prompts_sharing_at_least_min_tokens_and_leave_each_a_token_of_its_own():
    a, b = [1, 2, 3, 4, 9], [1, 2, 3, 4, 8, 8]
    groups = shared_prefix_groups([a, [7, 7, 7], b, [1, 2, 3, 4]], min_tokens=3)
    assert sorted(map(sorted, (m for _, m in groups))) == [[0, 2, 3], [1]]
    assert dict((tuple(sorted(m)), n) for n, m in groups) == {(0, 2, 3): 3, (1,): 0}  # [1,2,3,4] keeps its 4


def test_prompts_sharing_less_than_min_tokens_stay_alone():
    groups = shared_prefix_groups([[1, 2, 5], [1, 2, 6], [3]], min_tokens=3)
    assert all(n == 0 and len(m) == 1 for n, m in groups) and len(groups) == 3


def test_prefix_order_puts_prompts_of_one_slice_next_to_each_other():
    order = prefix_order([[2, 1], [1, 9], [2, 0], [1, 9]])
    assert order == [1, 3, 2, 0]


@pytest.fixture(scope="module")
def encoder(tiny_model_dir):
    from lrsql_plugin.inference.engines.encoding import PromptEncoder

    return PromptEncoder(str(tiny_model_dir), TINY_MODEL_TEMPLATE)


def test_slice_first_waves_share_the_slice_schema_and_question_first_waves_share_little(encoder):
    for layout, shared_at_least, shared_at_most in ((SLICE_FIRST, 300, 10**6), (QUESTION_FIRST, 0, 60)):
        ids = [encoder.encode(p) for p in wave(PromptRenderer(layout=layout))[:4]]
        groups = shared_prefix_groups(ids, min_tokens=1)
        longest = max(n for n, _ in groups)
        assert shared_at_least <= longest <= shared_at_most, (layout, longest)


# --- answers with and without sharing ---------------------------------------------------------------


@pytest.fixture(scope="module")
def link_adapter(tiny_model_dir, tmp_path_factory):
    """A random non-zero LoRA adapter, so the shared prefix is computed with the adapter active."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(3)
    path = tmp_path_factory.mktemp("adapter") / SCHEMA_LINK
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_model_dir),
                           LoraConfig(r=4, target_modules="all-linear", init_lora_weights=False))
    model.save_pretrained(path)
    return str(path)


@pytest.mark.parametrize("with_adapter", [False, True], ids=["base model", "LoRA adapter active"])
def test_shared_prefill_gives_the_answers_of_whole_prompts_in_float32(tiny_model_dir, link_adapter, with_adapter):
    from lrsql_plugin.inference.engines.hf import HFEngine

    adapters = {SCHEMA_LINK: link_adapter} if with_adapter else {}
    prompts = [*wave(PromptRenderer()), *wave(PromptRenderer(), part=3)]
    answers, engines = {}, {}
    for share in (False, True):
        engine = HFEngine(str(tiny_model_dir), adapters, TINY_MODEL_TEMPLATE, batch_size=2, device="cpu",
                          dtype="float32", share_prefix=share)
        answers[share] = engine.generate(prompts, SCHEMA_LINK, 24)
        engines[share] = engine
    assert answers[True] == answers[False]
    assert all(a.strip() for a in answers[True])  # the model said something
    shared, whole = engines[True], engines[False]
    assert whole.shared_tokens_saved == 0 and shared.shared_tokens_saved > 0
    # two slices of four prompts: each slice's prefix computed once, so far fewer prompt tokens computed
    assert shared.prefill_tokens + shared.shared_tokens_saved == whole.prefill_tokens
    assert shared.prefill_tokens < 0.5 * whole.prefill_tokens


def test_a_model_whose_cache_cannot_be_shared_falls_back_and_says_so_once(tiny_model_dir, tmp_path):
    """A state-space model (Mamba) has no per-token KV cache to copy: every prompt is prefilled whole."""
    import torch
    from transformers import AutoTokenizer, MambaConfig, MambaForCausalLM

    from lrsql_plugin.inference.engines.hf import HFEngine

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    torch.manual_seed(0)
    config = MambaConfig(vocab_size=len(tok), hidden_size=32, state_size=4, num_hidden_layers=2,
                         eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    MambaForCausalLM(config).save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    lines: list[str] = []
    engine = HFEngine(str(tmp_path), {}, TINY_MODEL_TEMPLATE, batch_size=4, device="cpu", dtype="float32", warn=lines.append)
    first = engine.generate(wave(PromptRenderer()), SCHEMA_LINK, 6)
    second = engine.generate(wave(PromptRenderer(), part=3), SCHEMA_LINK, 6)
    assert len(lines) == 1 and "shared prefill is off" in lines[0]
    assert engine.shared_tokens_saved == 0 and len(first) == len(second) == 5
    plain = HFEngine(str(tmp_path), {}, TINY_MODEL_TEMPLATE, batch_size=4, device="cpu", dtype="float32", share_prefix=False)
    assert plain.generate(wave(PromptRenderer()), SCHEMA_LINK, 6) == first


# --- servers with prefix caching ----------------------------------------------------------------------


def test_openai_engine_sends_the_prompts_of_one_slice_together_and_answers_in_input_order(encoder):
    from lrsql_plugin.inference.engines.base import SQL_GENERATION
    from lrsql_plugin.inference.engines.openai_api import OpenAIEngine
    from tests.hardening.fake_openai import FakeOpenAI

    renderer = PromptRenderer()
    two, three = wave(renderer)[:4], wave(renderer, part=3)[:4]
    prompts = [p for pair in zip(two, three) for p in pair]  # slices interleaved, as questions come
    with FakeOpenAI(decode=encoder.tokenizer.decode) as server:
        engine = OpenAIEngine({SQL_GENERATION: (server.url, SQL_GENERATION)}, concurrency=1, encoder=encoder)
        answers = engine.generate(prompts, SQL_GENERATION, 8)
    sent = [tuple(body["prompt"]) for _, body in server.received]
    ids = [tuple(encoder.encode(p, 8)) for p in prompts]
    assert sorted(sent) == sorted(ids)
    slice_of = {ids[k]: k % 2 for k in range(len(ids))}
    assert [slice_of[s] for s in sent] in ([0] * 4 + [1] * 4, [1] * 4 + [0] * 4)  # one slice, then the other
    # each answer is the one for its own prompt, in input order (the fake server hashes the prompt text)
    from tests.hardening.fake_openai import answer_for

    assert answers == [answer_for(SQL_GENERATION, encoder.tokenizer.decode(list(i))) for i in ids]
