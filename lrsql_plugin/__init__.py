"""LR-SQL plugin for LLaMA-Factory."""
__version__ = "0.1.0"
