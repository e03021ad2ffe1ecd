"""Generation engines behind one interface: ``hf`` (transformers + peft), ``openai`` (any
OpenAI-compatible server), ``vllm`` (in-process, optional extra)."""

from __future__ import annotations

from lrsql_plugin.inference.engines.base import GenerationEngine

ENGINES = ("hf", "openai", "vllm")


def build_engine(name: str, **kwargs: object) -> GenerationEngine:
    """Construct the engine ``name``; imports its libraries only now."""
    if name == "hf":
        from lrsql_plugin.inference.engines.hf import HFEngine

        return HFEngine(**kwargs)
    if name == "openai":
        from lrsql_plugin.inference.engines.openai_api import OpenAIEngine

        return OpenAIEngine(**kwargs)
    if name == "vllm":
        from lrsql_plugin.inference.engines.vllm_engine import VLLMEngine

        return VLLMEngine(**kwargs)
    raise ValueError(f"unknown engine {name!r}; expected one of {', '.join(ENGINES)}")
