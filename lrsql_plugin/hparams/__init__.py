"""Argument dataclasses in the style of LLaMA-Factory hparams."""
