"""In-process vLLM with one ``LoRARequest`` per adapter (optional extra ``lrsql[vllm]``).

Prompts are passed as token ids from ``PromptEncoder``, so they equal the training prompts.  Each
``generate`` call hands vLLM every prompt of a stage at once (its scheduler batches them), and
prefix caching is on.  A call's prompts are handed over in ``prefix_order`` (by token ids): with the
slice-first layout the prompts of one slice share the system prompt and the slice's schema and
arrive together, so the schema of each slice is prefilled about once per wave and every other
prompt of the slice computes only its question, evidence and memory.  (Question-first prompts share
only the system prompt.)
"""

from __future__ import annotations

from collections.abc import Sequence

from lrsql_plugin.errors import LrsqlError
from lrsql_plugin.inference.engines.base import in_input_order, prefix_order
from lrsql_plugin.inference.engines.encoding import PromptEncoder
from lrsql_plugin.prompts.render import Prompt


class VLLMEngine:
    def __init__(
        self,
        base: str,
        adapters: dict[str, str],
        template: str,
        max_lora_rank: int = 64,
        dtype: str = "auto",
        **llm_kwargs: object,
    ) -> None:
        try:
            from vllm import LLM
            from vllm.lora.request import LoRARequest
        except ImportError as e:
            raise LrsqlError(
                "the vllm engine needs vLLM: pip install 'lrsql[vllm]' (on a machine vLLM supports), "
                "or use --engine hf / --engine openai"
            ) from e
        self.encoder = PromptEncoder(base, template)
        llm_kwargs.setdefault("enable_prefix_caching", True)
        self.llm = LLM(model=base, enable_lora=bool(adapters), max_lora_rank=max_lora_rank, dtype=dtype, **llm_kwargs)
        self.requests = {name: LoRARequest(name, i + 1, path) for i, (name, path) in enumerate(adapters.items())}

    def generate(self, prompts: Sequence[Prompt], adapter: str, max_new_tokens: int) -> list[str]:
        from vllm import SamplingParams

        params = SamplingParams(temperature=0, max_tokens=max_new_tokens, stop_token_ids=self.encoder.stop_token_ids)
        ids = [self.encoder.encode(p, max_new_tokens, adapter) for p in prompts]
        order = prefix_order(ids)  # prompts of one slice together: prefix caching computes its schema once
        inputs = [{"prompt_token_ids": ids[i]} for i in order]
        outputs = self.llm.generate(inputs, params, lora_request=self.requests.get(adapter), use_tqdm=False)
        return in_input_order(order, [o.outputs[0].text for o in outputs])

    def close(self) -> None:
        self.llm = None
