"""Named model architectures, as the ``config.json`` fields the planner and the memory benchmark need.

The benchmark builds a randomly initialised model from one of these when no model hub is reachable:
memory depends on shapes, not on trained weights.
"""

from __future__ import annotations

ARCHITECTURES: dict[str, dict] = {
    # Qwen/Qwen2.5-7B-Instruct (and Qwen2.5-Coder-7B-Instruct: identical shapes), 7.6 B parameters.
    "qwen2.5-7b-instruct": {
        "architectures": ["Qwen2ForCausalLM"],
        "model_type": "qwen2",
        "hidden_size": 3584,
        "intermediate_size": 18944,
        "num_hidden_layers": 28,
        "num_attention_heads": 28,
        "num_key_value_heads": 4,
        "vocab_size": 152064,
        "max_position_embeddings": 32768,
        "rms_norm_eps": 1e-06,
        "rope_theta": 1000000.0,
        "tie_word_embeddings": False,
        "hidden_act": "silu",
        "attention_bias": True,  # Qwen2 has q/k/v biases
        "bos_token_id": 151643,
        "eos_token_id": 151645,
    },
    # HuggingFaceTB/SmolLM2-135M-Instruct, 135 M parameters (what lrsql_plugin.training.offline_model builds).
    "smollm2-135m": {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": 576,
        "intermediate_size": 1536,
        "num_hidden_layers": 30,
        "num_attention_heads": 9,
        "num_key_value_heads": 3,
        "head_dim": 64,
        "vocab_size": 49152,
        "max_position_embeddings": 8192,
        "tie_word_embeddings": True,
        "hidden_act": "silu",
        "attention_bias": False,
    },
}

ALIASES = {
    "qwen2.5-coder-7b-instruct": "qwen2.5-7b-instruct",
    "qwen/qwen2.5-7b-instruct": "qwen2.5-7b-instruct",
    "qwen/qwen2.5-coder-7b-instruct": "qwen2.5-7b-instruct",
    "smollm2-135m-instruct": "smollm2-135m",
    "huggingfacetb/smollm2-135m-instruct": "smollm2-135m",
}


def named_architecture(name: str) -> dict | None:
    """The config fields of a named architecture (case-insensitive, hub ids accepted), or None."""
    key = name.strip().lower()
    return ARCHITECTURES.get(ALIASES.get(key, key))
