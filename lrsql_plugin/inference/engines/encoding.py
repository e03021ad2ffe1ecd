"""Prompt -> token ids exactly as LLaMA-Factory's SFT preprocessing builds a training prompt.

Training sees ``system`` plus one user turn (alpaca ``instruction + "\\n" + input``) encoded by
the LLaMA-Factory template named in the recipe; ``PromptEncoder`` encodes inference prompts with
the same template object and code path (``Template.encode_oneturn``), so the ids are equal.

A prompt longer than the conversion's ``cutoff_len`` is cut as LLaMA-Factory cut it in training:
its supervised preprocessing keeps ``infer_seqlen(len(prompt), len(answer), cutoff_len)[0]`` prompt
ids (the function is LLaMA-Factory's own); at inference the answer's length is its generation
budget (``max_new_tokens``).  Cut prompts are counted per adapter (``truncated``).
"""

from __future__ import annotations

from lrsql_plugin.prompts.render import Prompt


class PromptEncoder:
    def __init__(self, tokenizer_path: str, template: str) -> None:
        from llamafactory.data import get_template_and_fix_tokenizer
        from llamafactory.hparams import DataArguments
        from transformers import AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(tokenizer_path)
        self.template = get_template_and_fix_tokenizer(self.tokenizer, DataArguments(template=template))
        self.template_name = template
        self.cutoff_len: int | None = None  # set from the conversion's manifest; None = never cut
        self.truncated: dict[str, int] = {}

    def encode(self, prompt: Prompt, answer_tokens: int = 0, adapter: str = "") -> list[int]:
        messages = [{"role": "user", "content": prompt.user}, {"role": "assistant", "content": ""}]
        prompt_ids, _ = self.template.encode_oneturn(self.tokenizer, messages, prompt.system)
        if self.cutoff_len and len(prompt_ids) + answer_tokens > self.cutoff_len:
            from llamafactory.data.processor.processor_utils import infer_seqlen

            keep, _ = infer_seqlen(len(prompt_ids), answer_tokens, self.cutoff_len)
            if keep < len(prompt_ids):
                prompt_ids = prompt_ids[:keep]
                self.truncated[adapter] = self.truncated.get(adapter, 0) + 1
        return prompt_ids

    @property
    def stop_token_ids(self) -> list[int]:
        return self.template.get_stop_token_ids(self.tokenizer)

    @property
    def pad_token_id(self) -> int:
        tok = self.tokenizer
        return tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id

    def decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True)
