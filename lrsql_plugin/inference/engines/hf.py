"""transformers + peft: one base model in memory, both LoRA adapters loaded and switched."""

from __future__ import annotations

from collections.abc import Sequence

from lrsql_plugin.inference.engines.base import plan_batches
from lrsql_plugin.inference.engines.encoding import PromptEncoder
from lrsql_plugin.prompts.render import Prompt

DTYPES = ("auto", "float32", "bfloat16", "float16")

#: Padded tokens (prompt + new tokens, summed over rows) per engine batch when ``batch_tokens`` is 0.
AUTO_BATCH_TOKENS = {"cpu": 16384, "cuda": 131072}


class HFEngine:
    """Greedy generation in length-sorted, left-padded batches; ``adapters`` maps adapter names to folders.

    One ``generate`` call takes any number of prompts: they are sorted by token length and cut into
    batches of at most ``batch_size`` prompts and ``batch_tokens`` padded tokens (see
    ``plan_batches``); answers come back in input order.  Left padding with an attention mask and
    position ids counted from each row's first real token make a row's answer that of the prompt
    alone (bit-identical in float32 on CPU in our tests; bf16/fp16 may differ in rare near-ties).

    With ``adapters`` empty the base model itself answers (useful for a base-model baseline).
    ``dtype``: ``auto`` keeps the checkpoint's dtype; ``float32``, ``bfloat16``, ``float16`` cast.
    """

    def __init__(
        self,
        base: str,
        adapters: dict[str, str],
        template: str,
        batch_size: int = 16,
        batch_tokens: int = 0,
        device: str | None = None,
        dtype: str = "auto",
    ) -> None:
        import torch
        from transformers import AutoModelForCausalLM

        if dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
        self.torch = torch
        self.encoder = PromptEncoder(base, template)
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.batch_size = batch_size
        self.batch_tokens = batch_tokens or AUTO_BATCH_TOKENS.get(self.device.split(":")[0], AUTO_BATCH_TOKENS["cpu"])
        torch_dtype = {"auto": "auto", "float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[dtype]
        model = AutoModelForCausalLM.from_pretrained(base, dtype=torch_dtype)
        if adapters:
            from peft import PeftModel

            names = list(adapters)
            model = PeftModel.from_pretrained(model, adapters[names[0]], adapter_name=names[0])
            for name in names[1:]:
                model.load_adapter(adapters[name], adapter_name=name)
            if dtype != "auto":  # adapters load in float32; run them in the chosen dtype too
                model = model.to(torch_dtype)
        self.model = model.to(self.device).eval()
        self.adapters = dict(adapters)
        self.dtype = str(next(self.model.parameters()).dtype).removeprefix("torch.")
        self.batch_shapes: list[tuple[int, int]] = []  # (rows, padded prompt width) of every batch run

    def generate(self, prompts: Sequence[Prompt], adapter: str, max_new_tokens: int) -> list[str]:
        if self.adapters:
            if adapter not in self.adapters:
                raise KeyError(f"adapter {adapter!r} not loaded; loaded: {', '.join(self.adapters)}")
            self.model.set_adapter(adapter)
        encoded = [self.encoder.encode(p) for p in prompts]
        out: list[str] = [""] * len(prompts)
        for batch in plan_batches([len(ids) for ids in encoded], self.batch_size, self.batch_tokens, max_new_tokens):
            for i, text in zip(batch, self._generate_batch([encoded[i] for i in batch], max_new_tokens)):
                out[i] = text
        return out

    def _generate_batch(self, batch: list[list[int]], max_new_tokens: int) -> list[str]:
        torch, pad = self.torch, self.encoder.pad_token_id
        width = max(len(ids) for ids in batch)
        self.batch_shapes.append((len(batch), width))
        input_ids = torch.tensor([[pad] * (width - len(ids)) + ids for ids in batch], device=self.device)
        attention = torch.tensor([[0] * (width - len(ids)) + [1] * len(ids) for ids in batch], device=self.device)
        with torch.inference_mode():
            generated = self.model.generate(
                input_ids=input_ids,
                attention_mask=attention,
                do_sample=False,
                max_new_tokens=max_new_tokens,
                eos_token_id=self.encoder.stop_token_ids,
                pad_token_id=pad,
            )
        stops = set(self.encoder.stop_token_ids)
        texts = []
        for row in generated:
            new = row[width:].tolist()
            end = next((k for k, tok in enumerate(new) if tok in stops), len(new))  # rows that stopped early are padded
            texts.append(self.encoder.decode(new[:end]))
        return texts

    def close(self) -> None:
        self.model = None
