"""Peak training memory of a LoRA / QLoRA run, predicted from a model's ``config.json`` and the longest
sample of a converted dataset.

    shape = ModelShape.from_config("qwen2.5-7b-instruct")      # a config.json, its folder, or a name
    setup = TrainSetup(method="qlora", rank=16, batch=1, checkpointing=True)
    estimate_peak(shape, setup, longest_tokens=621).gib       # about 7 GiB

The model is additive, one term per thing that lives in memory at the peak of a training step:

- **weights**: every parameter at the compute width (bf16: 2 bytes), or for QLoRA the decoder's
  linear layers in NF4 with double quantisation (~0.52 bytes a parameter) and the rest (embeddings,
  head, norms) at the compute width;
- **adapter**: the LoRA parameters of every linear layer in float32, their gradients and Adam's two
  moments (16 bytes each);
- **activations**, per token of the longest batch (batch x longest sample):
  the logits and the loss's float32 copies and gradients (``LOGIT_BYTES`` per vocabulary entry),
  with checkpointing the saved input of each layer plus one layer's recomputed activations, without
  it every layer's activations (``layer_activation_bytes``);
- **overhead**: a constant: the allocator's slack and workspaces on a GPU; on a CPU the resident
  size of the Python process with torch, transformers and LLaMA-Factory imported.

The constants are calibrated against ``bench/bench_memory.py`` (see bench/README.md, "Memory"):
the GPU ones on one H100 with Qwen2.5-7B shapes (LoRA 16.2 / 50.5 GiB, QLoRA 7.0 / 41.2 GiB at
621 / ~18,000 tokens), the CPU ones on SmolLM2-135M (peak RSS).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lrsql_plugin.errors import LrsqlError
from lrsql_plugin.planning.architectures import named_architecture

GIB = 1024**3
METHODS = ("lora", "qlora")
DEVICES = ("gpu", "cpu")

#: Bytes per vocabulary entry and token for the logits and the loss: the logits at the compute width,
#: the loss's float32 copy, log-softmax output and gradient. Fitted: GPU bf16 on the H100 figures,
#: CPU float32 on the SmolLM2 benchmark (GPU float32 is not measured: the CPU value is used).
LOGIT_BYTES = {("gpu", 2): 10.6, ("gpu", 4): 11.6, ("cpu", 2): 10.6, ("cpu", 4): 11.6}
#: One decoder layer's saved activations per token, in vectors of the compute width: (hidden-size
#: vectors, intermediate-size vectors). GPU: about 16 hidden-size vectors (norms, q/k/v/o inputs and
#: outputs, the residual, LoRA dropout copies) and 5 intermediate-size ones (gate, up, the activation,
#: their product, down's dropout copy), fitted on the H100 checkpointing-off figure. CPU (float32,
#: eager kernels) keeps about 1.8 times as much, fitted on the SmolLM2 benchmark.
LAYER_VECTORS = {"gpu": (16, 5), "cpu": (29, 9)}
#: NF4 with double quantisation: 4 bits plus 8-bit block scales (block 64) and their float32 scales.
QLORA_BYTES_PER_PARAM = 0.5 + 1 / 64 + 4 / (64 * 256)
#: Trainable LoRA parameters in float32: weight, gradient, Adam's two moments.
ADAPTER_BYTES_PER_PARAM = 16
#: Constant overhead: GPU allocations beyond the model (allocator slack, cuBLAS workspaces); CPU:
#: the training process's resident size besides model and activations (interpreter, torch,
#: transformers, datasets, LLaMA-Factory), fitted on the benchmark machine.
OVERHEAD_BYTES = {"gpu": int(0.18 * GIB), "cpu": int(0.62 * GIB)}
#: On a CPU, QLoRA's resident size exceeds even float32 LoRA's (the float32 checkpoint is read before
#: bitsandbytes quantises it, and its CPU kernels dequantise into float32 buffers): fitted as this
#: many times the float32 weights, in place of the 4-bit weights.
CPU_QLORA_WEIGHT_FACTOR = 1.58


@dataclass(frozen=True)
class ModelShape:
    """The parts of ``config.json`` that decide training memory."""

    hidden: int
    layers: int
    intermediate: int
    vocab: int
    heads: int
    kv_heads: int
    head_dim: int
    tied_embeddings: bool = False
    attention_bias: bool = False
    name: str = ""

    @classmethod
    def from_dict(cls, cfg: dict, name: str = "") -> ModelShape:
        cfg = {**cfg, **cfg.get("text_config", {})}
        try:
            hidden, heads = int(cfg["hidden_size"]), int(cfg["num_attention_heads"])
            shape = cls(
                hidden=hidden,
                layers=int(cfg["num_hidden_layers"]),
                intermediate=int(cfg["intermediate_size"]),
                vocab=int(cfg["vocab_size"]),
                heads=heads,
                kv_heads=int(cfg.get("num_key_value_heads") or heads),
                head_dim=int(cfg.get("head_dim") or hidden // heads),
                tied_embeddings=bool(cfg.get("tie_word_embeddings", False)),
                attention_bias=bool(cfg.get("attention_bias", cfg.get("model_type") == "qwen2")),
                name=name or cfg.get("_name_or_path", "") or cfg.get("model_type", ""),
            )
        except KeyError as e:
            raise LrsqlError(f"model config lacks {e.args[0]!r} (need hidden_size, num_hidden_layers, "
                             "intermediate_size, vocab_size, num_attention_heads)") from e
        return shape

    @classmethod
    def from_config(cls, source: str | Path) -> ModelShape:
        """From a ``config.json``, a model folder holding one, or a named architecture."""
        path = Path(source)
        if path.is_dir():
            path = path / "config.json"
        if path.is_file():
            try:
                return cls.from_dict(json.loads(path.read_text()), name=str(source))
            except json.JSONDecodeError as e:
                raise LrsqlError(f"{path}: not JSON: {e}") from e
        named = named_architecture(str(source))
        if named is None:
            raise LrsqlError(f"{source}: no config.json there and not a known architecture")
        return cls.from_dict(named, name=str(source))

    @property
    def linear_in_out(self) -> list[tuple[int, int]]:
        """(in, out) features of one decoder layer's linear layers: q, k, v, o, gate, up, down."""
        h, q, kv, i = self.hidden, self.heads * self.head_dim, self.kv_heads * self.head_dim, self.intermediate
        return [(h, q), (h, kv), (h, kv), (q, h), (h, i), (h, i), (i, h)]

    @property
    def layer_linear_params(self) -> int:
        return self.layers * sum(a * b for a, b in self.linear_in_out)

    @property
    def params(self) -> int:
        """All parameters: embeddings, head (unless tied), decoder layers with biases and norms."""
        bias = (self.heads + 2 * self.kv_heads) * self.head_dim if self.attention_bias else 0
        norms = self.layers * 2 * self.hidden + self.hidden
        embeddings = self.vocab * self.hidden * (1 if self.tied_embeddings else 2)
        return embeddings + self.layer_linear_params + self.layers * bias + norms

    def lora_params(self, rank: int) -> int:
        """LoRA on every linear layer of the decoder (the recipes' ``lora_target: all``)."""
        return self.layers * rank * sum(a + b for a, b in self.linear_in_out)


@dataclass(frozen=True)
class TrainSetup:
    method: str = "lora"  # lora | qlora
    rank: int = 16
    batch: int = 1
    checkpointing: bool = True
    compute_bytes: int = 2  # bf16 / fp16: 2; float32 (CPU runs): 4
    device: str = "gpu"  # gpu: CUDA max allocated; cpu: the process's peak RSS

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        if self.device not in DEVICES:
            raise ValueError(f"device must be one of {DEVICES}, got {self.device!r}")
        if self.rank < 1 or self.batch < 1 or self.compute_bytes not in (2, 4):
            raise ValueError("rank and batch must be positive, compute_bytes 2 or 4")


@dataclass
class MemoryEstimate:
    total_bytes: int
    parts: dict[str, int] = field(default_factory=dict)
    tokens: int = 0

    @property
    def gib(self) -> float:
        return self.total_bytes / GIB

    def as_dict(self) -> dict:
        return {"peak_gib": round(self.gib, 2), "tokens": self.tokens,
                "parts_gib": {k: round(v / GIB, 3) for k, v in self.parts.items()}}


def layer_activation_bytes(shape: ModelShape, compute_bytes: int, device: str = "gpu") -> float:
    """One decoder layer's activations saved for backward, per token."""
    hidden, intermediate = LAYER_VECTORS[device]
    return compute_bytes * (hidden * shape.hidden + intermediate * shape.intermediate)


def activation_bytes_per_token(shape: ModelShape, setup: TrainSetup) -> float:
    logits = LOGIT_BYTES[(setup.device, setup.compute_bytes)] * shape.vocab
    layer = layer_activation_bytes(shape, setup.compute_bytes, setup.device)
    if setup.checkpointing:  # each layer's input is kept; one layer is recomputed at a time
        return logits + shape.layers * shape.hidden * setup.compute_bytes + layer
    return logits + shape.layers * layer


def weight_bytes(shape: ModelShape, setup: TrainSetup) -> float:
    if setup.method == "qlora":
        linear = shape.layer_linear_params
        return linear * QLORA_BYTES_PER_PARAM + (shape.params - linear) * setup.compute_bytes
    return shape.params * setup.compute_bytes


def estimate_peak(shape: ModelShape, setup: TrainSetup, longest_tokens: int) -> MemoryEstimate:
    """Peak memory of a training step on a batch of ``setup.batch`` samples of ``longest_tokens``."""
    tokens = setup.batch * max(0, int(longest_tokens))
    parts = {
        "weights": weight_bytes(shape, setup),
        "adapter": shape.lora_params(setup.rank) * ADAPTER_BYTES_PER_PARAM,
        "activations": tokens * activation_bytes_per_token(shape, setup),
        "overhead": OVERHEAD_BYTES[setup.device],
    }
    if setup.device == "cpu" and setup.method == "qlora":
        parts["weights"] = CPU_QLORA_WEIGHT_FACTOR * shape.params * 4
    parts = {k: int(v) for k, v in parts.items()}
    return MemoryEstimate(sum(parts.values()), parts, tokens)


def plan_pair(
    shape: ModelShape, setup: TrainSetup, schema_link_longest: int, full_schema_longest: int
) -> dict:
    """Both recipes of a pair: LR-SQL's schema-link model and its full-schema twin, and their ratio."""
    ours = estimate_peak(shape, setup, schema_link_longest)
    base = estimate_peak(shape, setup, full_schema_longest)
    return {
        "setup": asdict(setup),
        "schema_link": ours.as_dict(),
        "full_schema_link": base.as_dict(),
        "ratio": round(ours.total_bytes / base.total_bytes, 3) if base.total_bytes else None,
    }


__all__ = [
    "GIB",
    "MemoryEstimate",
    "ModelShape",
    "TrainSetup",
    "activation_bytes_per_token",
    "estimate_peak",
    "plan_pair",
]
