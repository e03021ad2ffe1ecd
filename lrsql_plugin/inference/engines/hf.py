"""transformers + peft: one base model in memory, both LoRA adapters loaded and switched."""

from __future__ import annotations

from collections.abc import Sequence

from lrsql_plugin.inference.engines.base import plan_batches
from lrsql_plugin.inference.engines.cpu_attention import attention_implementation
from lrsql_plugin.inference.engines.encoding import PromptEncoder
from lrsql_plugin.prompts.render import Prompt

DTYPES = ("auto", "float32", "bfloat16", "float16")

#: Padded tokens (prompt + new tokens, summed over rows) per engine batch when ``batch_tokens`` is 0.
AUTO_BATCH_TOKENS = {"cpu": 16384, "cuda": 131072}


#: New tokens per ``generate`` call of a batch; between calls, rows whose answer ended leave the batch.
SEGMENT_TOKENS = 16
#: Generation settings that count from the start of a ``generate`` call: with any of them set, a
#: batch is generated in one call (finished rows then decode on, padded, to the longest answer).
CALL_START_SETTINGS = ("min_length", "min_new_tokens", "begin_suppress_tokens", "exponential_decay_length_penalty")


class HFEngine:
    """Greedy generation in length-sorted, left-padded batches; ``adapters`` maps adapter names to folders.

    One ``generate`` call takes any number of prompts: they are sorted by token length and cut into
    batches of at most ``batch_size`` prompts and ``batch_tokens`` padded tokens (see
    ``plan_batches``); answers come back in input order.  Left padding with an attention mask and
    position ids counted from each row's first real token make a row's answer that of the prompt
    alone (bit-identical in float32 on CPU in our tests; bf16/fp16 may differ in rare near-ties).
    A batch decodes ``segment_tokens`` tokens per ``generate`` call, and rows whose answer ended
    leave it between calls (see ``_generate_batch``).  On CPU, padded batches attend with grouped
    key/value heads instead of copying them out (``cpu_attention``).

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
        attention = attention_implementation(self.device)
        try:
            model = AutoModelForCausalLM.from_pretrained(base, dtype=torch_dtype, attn_implementation=attention)
        except (ValueError, ImportError):  # an architecture without SDPA support: its default attention
            if attention is None:
                raise
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
        self.segment_tokens = SEGMENT_TOKENS
        self.batch_shapes: list[tuple[int, int]] = []  # (rows, padded prompt width) of every batch run

    def generate(self, prompts: Sequence[Prompt], adapter: str, max_new_tokens: int) -> list[str]:
        if self.adapters:
            if adapter not in self.adapters:
                raise KeyError(f"adapter {adapter!r} not loaded; loaded: {', '.join(self.adapters)}")
            self.model.set_adapter(adapter)
        encoded = [self.encoder.encode(p, max_new_tokens, adapter) for p in prompts]
        out: list[str] = [""] * len(prompts)
        for batch in plan_batches([len(ids) for ids in encoded], self.batch_size, self.batch_tokens, max_new_tokens):
            for i, text in zip(batch, self._generate_batch([encoded[i] for i in batch], max_new_tokens)):
                out[i] = text
        return out

    def _generate_batch(self, batch: list[list[int]], max_new_tokens: int) -> list[str]:
        """Greedy answers of one left-padded batch, ``segment_tokens`` new tokens per ``generate`` call.

        Between calls, rows whose answer has ended leave the batch and the KV cache, so a batch no
        longer decodes every row to its longest answer.  Every call is transformers' own ``generate``
        continuing from the cache with the whole sequence so far, so the checkpoint's generation
        settings (a ``repetition_penalty``, suppressed tokens) apply exactly as in one call.
        """
        torch, pad = self.torch, self.encoder.pad_token_id
        width = max(len(ids) for ids in batch)
        self.batch_shapes.append((len(batch), width))
        input_ids = torch.tensor([[pad] * (width - len(ids)) + ids for ids in batch], device=self.device)
        attention = torch.tensor([[0] * (width - len(ids)) + [1] * len(ids) for ids in batch], device=self.device)
        config = self.model.generation_config
        segmentable = (
            len(batch) > 1
            and getattr(config, "cache_implementation", None) in (None, "dynamic")
            and not any(getattr(config, name, None) for name in CALL_START_SETTINGS)
        )
        answers = self._decode(input_ids, attention, max_new_tokens, self.segment_tokens) if segmentable else None
        if answers is None:  # one call; also when the model's cache cannot drop rows
            answers = self._decode(input_ids, attention, max_new_tokens, max_new_tokens)
        return [self.encoder.decode(tokens) for tokens in answers]

    def _decode(self, input_ids, attention, max_new_tokens: int, segment: int) -> list[list[int]] | None:
        """New tokens of every row (without the stop token), ``segment`` per ``generate`` call; None
        when the model's KV cache cannot drop rows (then nothing has been kept)."""
        torch, width = self.torch, input_ids.shape[1]
        stop_ids = self.encoder.stop_token_ids
        stops = set(stop_ids)
        answers: list[list[int]] = [[] for _ in range(input_ids.shape[0])]
        rows = list(range(input_ids.shape[0]))  # batch row of each row still decoding
        cache = None
        while True:
            produced = input_ids.shape[1] - width
            with torch.inference_mode():
                out = self.model.generate(
                    input_ids=input_ids,
                    attention_mask=attention,
                    past_key_values=cache,
                    do_sample=False,
                    max_new_tokens=min(segment, max_new_tokens - produced),
                    eos_token_id=stop_ids,
                    pad_token_id=self.encoder.pad_token_id,
                    return_dict_in_generate=True,
                )
            new = out.sequences[:, input_ids.shape[1]:]
            going = []
            for k, (row, tokens) in enumerate(zip(rows, new.tolist())):
                end = next((i for i, tok in enumerate(tokens) if tok in stops), None)  # ended rows are padded
                answers[row] += tokens if end is None else tokens[:end]
                if end is None:
                    going.append(k)
            if not going or produced + new.shape[1] >= max_new_tokens:
                return answers
            cache = out.past_key_values
            if not hasattr(cache, "batch_select_indices"):
                return None
            keep = torch.tensor(going, device=self.device)
            if len(going) < len(rows):
                cache.batch_select_indices(keep)
                rows = [rows[k] for k in going]
            input_ids = out.sequences[keep]
            attention = torch.cat([attention[keep], attention.new_ones(len(going), new.shape[1])], dim=1)

    def close(self) -> None:
        self.model = None
