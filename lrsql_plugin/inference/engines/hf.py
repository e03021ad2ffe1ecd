"""transformers + peft: one base model in memory, both LoRA adapters loaded and switched."""

from __future__ import annotations

import copy
import sys
from collections.abc import Callable, Sequence

from lrsql_plugin.inference.engines.base import plan_batches, shared_prefix_groups
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
#: Shortest token prefix that prompts of one call must share for it to be prefilled once (``share_prefix``).
MIN_SHARED_TOKENS = 128


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

    **Shared prefill** (``share_prefix``, on by default).  Prompts of one call whose token ids share a
    prefix of at least ``MIN_SHARED_TOKENS`` (slice-first schema-link prompts of one slice share the
    system prompt and the slice's schema; see ``lrsql_plugin.prompts.layout``) are grouped
    (``shared_prefix_groups``, on the real ids of the full prompts).  The prefix of a group is
    prefilled once; each batch of the group continues from a copy of that KV cache with its rows'
    own suffixes, right after the prefix and left-padded among themselves (the attention mask hides
    the padding, position ids count real tokens, so a suffix token sits where it sits in the whole
    prompt).  Answers are those without sharing (equal in float32 on CPU in our tests).  A model
    whose cache cannot be copied and repeated per row, or whose forward pass refuses the
    continuation, falls back to the unshared path, and ``warn`` says so once.
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
        share_prefix: bool = True,
        warn: Callable[[str], None] | None = None,
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
        self.share_prefix = share_prefix
        self.warn = warn or (lambda line: print(line, file=sys.stderr, flush=True))
        # prompt tokens the model computed (prefill), and those a shared prefix spared
        self.prefill_tokens = 0
        self.shared_tokens_saved = 0

    def generate(self, prompts: Sequence[Prompt], adapter: str, max_new_tokens: int) -> list[str]:
        if self.adapters:
            if adapter not in self.adapters:
                raise KeyError(f"adapter {adapter!r} not loaded; loaded: {', '.join(self.adapters)}")
            self.model.set_adapter(adapter)
        encoded = [self.encoder.encode(p, max_new_tokens, adapter) for p in prompts]
        out: list[str] = [""] * len(prompts)
        groups = shared_prefix_groups(encoded, MIN_SHARED_TOKENS) if self.share_prefix else [(0, list(range(len(encoded))))]
        alone = [i for shared, members in groups if not shared for i in members]
        for shared, members in groups:
            if shared and not self._generate_shared(encoded, members, shared, max_new_tokens, out):
                alone += members  # this model cannot continue from a shared cache: the unshared path
        alone.sort()
        for batch in plan_batches([len(encoded[i]) for i in alone], self.batch_size, self.batch_tokens, max_new_tokens):
            rows = [alone[k] for k in batch]
            for i, text in zip(rows, self._generate_batch([encoded[i] for i in rows], max_new_tokens)):
                out[i] = text
        return out

    def _generate_shared(self, encoded: list[list[int]], members: list[int], shared: int, max_new_tokens: int,
                         out: list[str]) -> bool:
        """Answer ``members`` (positions in ``encoded``) from one prefill of their first ``shared`` tokens;
        False (nothing answered) when the model cannot, after a warning given once per engine."""
        torch = self.torch
        prefix = encoded[members[0]][:shared]
        try:
            with torch.inference_mode():
                cache = self.model(
                    input_ids=torch.tensor([prefix], device=self.device), use_cache=True, logits_to_keep=1,
                ).past_key_values
            if not all(hasattr(cache, m) for m in ("batch_repeat_interleave", "batch_select_indices")) \
                    or cache.get_seq_length() != shared:
                raise TypeError(f"its cache ({type(cache).__name__}) cannot be repeated per row")
        except (TypeError, ValueError, NotImplementedError, AttributeError) as e:
            self.share_prefix = False
            self.warn(f"lrsql-eval: warning: shared prefill is off for this model ({e}); every prompt is prefilled whole")
            return False
        self.prefill_tokens += shared
        self.shared_tokens_saved += shared * (len(members) - 1)
        suffixes = [encoded[i][shared:] for i in members]
        for batch in plan_batches([len(encoded[i]) for i in members], self.batch_size, self.batch_tokens, max_new_tokens):
            rows = [members[k] for k in batch]
            start = copy.deepcopy(cache)
            start.batch_repeat_interleave(len(rows))
            texts = self._generate_batch([suffixes[k] for k in batch], max_new_tokens, prefix=prefix, cache=start)
            for i, text in zip(rows, texts):
                out[i] = text
        return True

    def _generate_batch(self, batch: list[list[int]], max_new_tokens: int, prefix: list[int] | None = None,
                        cache: object = None) -> list[str]:
        """Greedy answers of one left-padded batch, ``segment_tokens`` new tokens per ``generate`` call.

        With ``prefix`` and ``cache`` (its KV cache, one copy per row), ``batch`` holds the rows'
        suffixes: each row is the prefix, then its left-padded suffix.

        Between calls, rows whose answer has ended leave the batch and the KV cache, so a batch no
        longer decodes every row to its longest answer.  Every call is transformers' own ``generate``
        continuing from the cache with the whole sequence so far, so the checkpoint's generation
        settings (a ``repetition_penalty``, suppressed tokens) apply exactly as in one call.
        """
        torch, pad = self.torch, self.encoder.pad_token_id
        head = prefix or []
        width = max(len(ids) for ids in batch)
        self.batch_shapes.append((len(batch), len(head) + width))
        self.prefill_tokens += len(batch) * width
        input_ids = torch.tensor([head + [pad] * (width - len(ids)) + ids for ids in batch], device=self.device)
        attention = torch.tensor(
            [[1] * len(head) + [0] * (width - len(ids)) + [1] * len(ids) for ids in batch], device=self.device
        )
        config = self.model.generation_config
        segmentable = (
            len(batch) > 1
            and getattr(config, "cache_implementation", None) in (None, "dynamic")
            and not any(getattr(config, name, None) for name in CALL_START_SETTINGS)
        )
        # a shared prefix's cache can drop rows (``_generate_shared`` checks), so a retry never needs it again
        answers = self._decode(input_ids, attention, max_new_tokens, self.segment_tokens, cache) if segmentable else None
        if answers is None:  # one call; also when the model's cache cannot drop rows
            answers = self._decode(input_ids, attention, max_new_tokens, max_new_tokens, cache)
        return [self.encoder.decode(tokens) for tokens in answers]

    def _decode(self, input_ids, attention, max_new_tokens: int, segment: int, cache: object = None) -> list[list[int]] | None:
        """New tokens of every row (without the stop token), ``segment`` per ``generate`` call, starting
        from ``cache`` (the KV cache of a prefix of ``input_ids``) when given; None when the model's KV
        cache cannot drop rows (then nothing has been kept)."""
        torch, width = self.torch, input_ids.shape[1]
        stop_ids = self.encoder.stop_token_ids
        stops = set(stop_ids)
        answers: list[list[int]] = [[] for _ in range(input_ids.shape[0])]
        rows = list(range(input_ids.shape[0]))  # batch row of each row still decoding
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
