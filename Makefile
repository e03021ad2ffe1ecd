# make demo : convert the bundled demo dataset (and, as the product grows, train and evaluate on it)
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
	$(VENV)/bin/lrsql-convert spider --spider-dir datasets/demo --split train --tables-per-slice 4 --out $(DEMO_OUT)/data

test: $(STAMP)
	$(PY) -m pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check lrsql_plugin tests bench

bench: $(STAMP)
	$(PY) bench/run_all.py
