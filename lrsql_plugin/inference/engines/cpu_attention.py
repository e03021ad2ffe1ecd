"""Grouped-query attention for padded batches on CPU, registered with transformers' attention interface.

transformers' ``sdpa`` attention passes ``enable_gqa`` to ``scaled_dot_product_attention`` only when
there is no attention mask; with one (every left-padded batch) it first copies the key/value cache
into one head per query head.  On CPU that copy costs more than the attention itself (a decoding
step of 16 rows of SmolLM2's shape: 0.6 ms per layer with the copy, 0.19 ms without;
bench/README.md), while torch's CPU kernel takes a mask and grouped heads together and gives the
same numbers.  ``lrsql_sdpa`` is ``sdpa`` without the copy; the mask is built exactly as for ``sdpa``.
"""

from __future__ import annotations

NAME = "lrsql_sdpa"


def _gqa_sdpa_forward(module, query, key, value, attention_mask, dropout=0.0, scaling=None, is_causal=None, **kwargs):
    import torch

    is_causal = query.shape[2] > 1 and attention_mask is None and (
        is_causal if is_causal is not None else getattr(module, "is_causal", True)
    )
    grouped = key.shape[1] != query.shape[1]
    out = torch.nn.functional.scaled_dot_product_attention(
        query, key, value, attn_mask=attention_mask, dropout_p=dropout, scale=scaling, is_causal=is_causal,
        **({"enable_gqa": True} if grouped else {}),
    )
    return out.transpose(1, 2).contiguous(), None


def attention_implementation(device: str) -> str | None:
    """``lrsql_sdpa`` (registered on first use) on CPU with torch >= 2.5, else None (the model's default)."""
    import torch

    if device.split(":")[0] != "cpu" or tuple(int(p) for p in torch.__version__.split(".")[:2]) < (2, 5):
        return None
    try:
        from transformers import AttentionInterface
        from transformers.masking_utils import AttentionMaskInterface, sdpa_mask
    except ImportError:  # a transformers without the mask interface: keep its own attention
        return None

    AttentionInterface.register(NAME, _gqa_sdpa_forward)
    AttentionMaskInterface.register(NAME, sdpa_mask)
    return NAME
