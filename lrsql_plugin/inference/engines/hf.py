"""transformers + peft: one base model in memory, both LoRA adapters loaded and switched."""

from __future__ import annotations

from collections.abc import Sequence

from lrsql_plugin.inference.engines.encoding import PromptEncoder
from lrsql_plugin.prompts.render import Prompt


class HFEngine:
    """Greedy, left-padded, batched generation; ``adapters`` maps adapter names to adapter folders.

    With ``adapters`` empty the base model itself answers (useful for a base-model baseline).
    """

    def __init__(
        self,
        base: str,
        adapters: dict[str, str],
        template: str,
        batch_size: int = 8,
        device: str | None = None,
        dtype: str = "auto",
    ) -> None:
        import torch
        from transformers import AutoModelForCausalLM

        self.torch = torch
        self.encoder = PromptEncoder(base, template)
        self.batch_size = batch_size
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        torch_dtype = {"auto": "auto", "float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[dtype]
        model = AutoModelForCausalLM.from_pretrained(base, dtype=torch_dtype)
        if adapters:
            from peft import PeftModel

            names = list(adapters)
            model = PeftModel.from_pretrained(model, adapters[names[0]], adapter_name=names[0])
            for name in names[1:]:
                model.load_adapter(adapters[name], adapter_name=name)
        self.model = model.to(self.device).eval()
        self.adapters = dict(adapters)

    def generate(self, prompts: Sequence[Prompt], adapter: str, max_new_tokens: int) -> list[str]:
        if self.adapters:
            if adapter not in self.adapters:
                raise KeyError(f"adapter {adapter!r} not loaded; loaded: {', '.join(self.adapters)}")
            self.model.set_adapter(adapter)
        out: list[str] = []
        for start in range(0, len(prompts), self.batch_size):
            out += self._generate_batch([self.encoder.encode(p) for p in prompts[start : start + self.batch_size]], max_new_tokens)
        return out

    def _generate_batch(self, batch: list[list[int]], max_new_tokens: int) -> list[str]:
        torch, pad = self.torch, self.encoder.pad_token_id
        width = max(len(ids) for ids in batch)
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
        return [self.encoder.decode(row[width:].tolist()) for row in generated]

    def close(self) -> None:
        self.model = None
