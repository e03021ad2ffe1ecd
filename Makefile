# make demo : the main job on the bundled demo data: convert -> train both adapters -> inference + evaluation
# make test : the test suite
# Both create .venv/ on first use (scripts/install.sh picks CPU or CUDA torch for this machine).
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.lrsql-installed
DEMO_OUT ?= outputs/demo

.PHONY: demo test lint bench bench-memory install

install: $(STAMP)

$(STAMP): pyproject.toml scripts/install.sh
	VENV=$(VENV) bash scripts/install.sh

demo: $(STAMP)
	VENV=$(VENV) DEMO_OUT=$(DEMO_OUT) bash scripts/demo.sh

test: $(STAMP)
	$(PY) -m pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check lrsql_plugin tests bench datasets

# The recorded benchmarks of bench/README.md (evaluation, inference, decoding costs, gold spread:
# about 50 minutes on 2 cores)
bench: $(STAMP)
	$(PY) bench/bench_eval.py --repeats 15
	$(PY) bench/bench_eval_scale.py --repeats 5
	$(PY) bench/bench_eval_scale.py --repeats 5 --scale 30
	$(PY) bench/bench_inference.py --questions 48 --later-questions 16 --threads 2
	$(PY) bench/bench_decode_costs.py --experiments
	$(PY) bench/bench_gold_spread.py --seeds 0-19

# Training memory: schema_link vs full_schema_link recipes (LoRA, QLoRA, checkpointing on/off) with
# llamafactory-cli, beside the planner; SmolLM2-135M on CPU. On a GPU without a hub, e.g.:
#   make bench-memory BENCH_MEMORY_ARGS="--architecture qwen2.5-7b-instruct --dataset datasets/spider_merged"
bench-memory: $(STAMP)
	HF_HUB_OFFLINE=1 $(PY) bench/bench_memory.py $(BENCH_MEMORY_ARGS)
