"""The hf engine's batches (issue 12): grouped-query attention under a padding mask on CPU, and rows that
leave a batch when their answer ends, both giving exactly the answers of one prompt at a time."""

from __future__ import annotations

import shutil

import pytest

from lrsql_plugin.inference.engines.base import SQL_GENERATION
from lrsql_plugin.inference.engines.cpu_attention import NAME as CPU_ATTENTION
from lrsql_plugin.prompts import PromptRenderer
from lrsql_plugin.schema.model import Column, Database, Table
from tests.fixtures.tiny_model import TINY_MODEL_TEMPLATE

R = PromptRenderer().for_database()


def db(n_tables: int, width: int) -> Database:
    return Database("d", [
        Table(f"t{i}", [Column("id", "INTEGER")] + [Column(f"c{i}_{k}", "TEXT") for k in range(width)], ["id"])
        for i in range(n_tables)
    ])


# prompts from one line of schema to a few hundred tokens, so every batch pads its short rows
PROMPTS = [R.sql_generation(q, db(n, w).tables) for q, n, w in (
    ("How many?", 1, 1), ("Which t2 rows have the largest c2_3?", 3, 6), ("List all.", 1, 3),
    ("Count t0 per c0_1.", 2, 2), ("What is the average c1_0 over every t1 row in the table?", 4, 8),
)]


@pytest.fixture(scope="module")
def gqa_model_dir(tiny_model_dir, tmp_path_factory):
    """A random Llama with grouped-query attention (4 query heads sharing 2 key/value heads)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    out = tmp_path_factory.mktemp("gqa")
    for f in tiny_model_dir.iterdir():
        if f.name.startswith(("tokenizer", "special_tokens")):
            shutil.copy(f, out / f.name)
    base = LlamaConfig.from_pretrained(tiny_model_dir)
    config = LlamaConfig(**{**base.to_dict(), "num_key_value_heads": 2})
    torch.manual_seed(1)
    LlamaForCausalLM(config).save_pretrained(out)
    return out


class ExtraStops:
    """The engine's prompt encoder with more stop tokens (a random model hardly ever says its end token)."""

    def __init__(self, encoder, extra: list[int]):
        self.encoder, self.extra = encoder, extra

    def __getattr__(self, name):
        return getattr(self.encoder, name)

    @property
    def stop_token_ids(self) -> list[int]:
        return self.encoder.stop_token_ids + self.extra


def engine(model_dir, batch_size: int = 16, stops: list[int] = (), segment_tokens: int | None = None,
           adapters: dict[str, str] | None = None):
    """The hf engine on CPU in float32, with extra stop tokens and ``segment_tokens`` when given."""
    from lrsql_plugin.inference.engines.hf import HFEngine

    e = HFEngine(str(model_dir), adapters or {}, TINY_MODEL_TEMPLATE, batch_size=batch_size, device="cpu", dtype="float32")
    e.encoder = ExtraStops(e.encoder, list(stops))
    e.segment_tokens = segment_tokens or e.segment_tokens
    return e


def early_stops(model_dir, adapters: dict[str, str] | None = None) -> list[int]:
    """Tokens that end the random model's answers to PROMPTS at different lengths (some not at all)."""
    import torch

    e = engine(model_dir, batch_size=1, adapters=adapters)
    answers = [e.model.generate(input_ids=torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                                do_sample=False, max_new_tokens=24, pad_token_id=e.encoder.pad_token_id)[0, len(ids):]
               for ids in map(e.encoder.encode, PROMPTS)]
    return [answers[0][5].item(), answers[1][3].item()]


def each_alone(model_dir, max_new_tokens: int, stops: list[int] = (), adapters=None, **generation) -> list[str]:
    alone = engine(model_dir, batch_size=1, stops=stops, adapters=adapters)
    for key, value in generation.items():
        setattr(alone.model.generation_config, key, value)
    return [alone.generate([p], SQL_GENERATION, max_new_tokens)[0] for p in PROMPTS]


def test_padded_batches_use_grouped_heads_on_cpu_and_answer_as_each_prompt_alone(gqa_model_dir):
    batched = engine(gqa_model_dir)
    assert batched.model.config._attn_implementation == CPU_ATTENTION
    answers = batched.generate(PROMPTS, SQL_GENERATION, 12)
    rows, width = batched.batch_shapes[0]
    assert rows == len(PROMPTS) and width > 3 * min(len(batched.encoder.encode(p)) for p in PROMPTS)
    assert answers == each_alone(gqa_model_dir, 12)
    # transformers' own sdpa (key/value heads copied out under a mask) gives the same answers
    batched.model.config._attn_implementation = "sdpa"
    assert batched.generate(PROMPTS, SQL_GENERATION, 12) == answers


class CallRecorder:
    """Wraps ``model.generate`` and records the rows and new-token cap of every call."""

    def __init__(self, model):
        self.calls: list[tuple[int, int]] = []
        self.inner = model.generate
        model.generate = self

    def __call__(self, **kwargs):
        self.calls.append((kwargs["input_ids"].shape[0], kwargs["max_new_tokens"]))
        return self.inner(**kwargs)


def test_rows_whose_answer_ended_leave_the_batch_and_the_answers_do_not_change(tiny_model_dir):
    stops = early_stops(tiny_model_dir)
    segmented = engine(tiny_model_dir, stops=stops, segment_tokens=2)
    calls = CallRecorder(segmented.model)
    answers = segmented.generate(PROMPTS, SQL_GENERATION, 24)
    assert answers == each_alone(tiny_model_dir, 24, stops)
    rows = [r for r, _ in calls.calls]
    assert rows[0] == len(PROMPTS) and 0 < rows[-1] < rows[0], rows  # ended rows left; the rest went on
    assert rows == sorted(rows, reverse=True) and all(n <= 2 for _, n in calls.calls)
    assert sum(n for _, n in calls.calls) == 24  # the rows that never ended got all their tokens
    one_call = engine(tiny_model_dir, stops=stops, segment_tokens=24)
    assert one_call.generate(PROMPTS, SQL_GENERATION, 24) == answers
    assert len({len(a) for a in answers}) > 2


def test_the_checkpoints_generation_settings_apply_across_segments(tiny_model_dir):
    plain = engine(tiny_model_dir).generate(PROMPTS, SQL_GENERATION, 24)
    segmented = engine(tiny_model_dir, segment_tokens=2)
    segmented.model.generation_config.repetition_penalty = 3.0
    penalised = segmented.generate(PROMPTS, SQL_GENERATION, 24)
    assert penalised != plain  # the penalty is in force ...
    assert penalised == each_alone(tiny_model_dir, 24, repetition_penalty=3.0)  # ... exactly as in one call each


def test_settings_counted_from_the_start_of_a_call_keep_a_batch_in_one_call(tiny_model_dir):
    batched = engine(tiny_model_dir, segment_tokens=2)
    batched.model.generation_config.min_new_tokens = 6
    calls = CallRecorder(batched.model)
    answers = batched.generate(PROMPTS, SQL_GENERATION, 12)
    assert calls.calls == [(len(PROMPTS), 12)]
    assert answers == each_alone(tiny_model_dir, 12, min_new_tokens=6)


def test_a_cache_that_cannot_drop_rows_gets_the_batch_decoded_in_one_call(tiny_model_dir):
    stops = early_stops(tiny_model_dir)
    batched = engine(tiny_model_dir, stops=stops, segment_tokens=2)
    calls = CallRecorder(batched.model)

    class FixedCache:  # a model-specific cache without batch_select_indices
        pass

    def without_row_selection(**kwargs):
        out = calls(**kwargs)
        out.past_key_values = FixedCache()
        return out

    batched.model.generate = without_row_selection
    answers = batched.generate(PROMPTS, SQL_GENERATION, 24)
    assert calls.calls == [(len(PROMPTS), 2), (len(PROMPTS), 24)]  # the first segment is dropped and redone
    assert answers == each_alone(tiny_model_dir, 24, stops)


@pytest.fixture(scope="module")
def sql_adapter(tiny_model_dir, tmp_path_factory) -> dict[str, str]:
    """A random (non-zero) LoRA adapter on every linear layer of the tiny model."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    out = tmp_path_factory.mktemp("adapter") / SQL_GENERATION
    torch.manual_seed(3)
    get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_model_dir),
                   LoraConfig(r=4, target_modules="all-linear", init_lora_weights=False)).save_pretrained(out)
    return {SQL_GENERATION: str(out)}


def test_with_a_lora_adapter_rows_leave_the_batch_and_answers_stay_those_of_each_prompt_alone(tiny_model_dir,
                                                                                            sql_adapter):
    stops = early_stops(tiny_model_dir, sql_adapter)
    segmented = engine(tiny_model_dir, stops=stops, segment_tokens=2, adapters=sql_adapter)
    calls = CallRecorder(segmented.model)
    answers = segmented.generate(PROMPTS, SQL_GENERATION, 24)
    assert answers == each_alone(tiny_model_dir, 24, stops, adapters=sql_adapter)
    rows = [r for r, _ in calls.calls]
    assert rows[0] == len(PROMPTS) and rows[-1] < rows[0], rows
    assert answers != engine(tiny_model_dir, stops=stops).generate(PROMPTS, SQL_GENERATION, 24)  # the adapter acts
