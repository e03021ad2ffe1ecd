# make demo : the main job on the bundled demo data: convert -> train both adapters -> inference + evaluation
# make test : the test suite
# Both create .venv/ on first use (scripts/install.sh picks CPU or CUDA torch for this machine).
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.lrsql-installed
DEMO_OUT ?= outputs/demo

.PHONY: demo test lint bench install

install: $(STAMP)

$(STAMP): pyproject.toml scripts/install.sh
	VENV=$(VENV) bash scripts/install.sh

demo: $(STAMP)
	VENV=$(VENV) DEMO_OUT=$(DEMO_OUT) bash scripts/demo.sh

test: $(STAMP)
	$(PY) -m pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check lrsql_plugin tests bench

bench: $(STAMP)
	$(PY) bench/bench_eval.py --repeats 15
	$(PY) bench/bench_inference.py --questions 24 --batch-size 8
