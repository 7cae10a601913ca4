# make run   - set up .venv, install the core, run the quickstart scenario and print its cost report
# make test  - set up .venv, install with every extra, run the test suite (slow tests skipped:
#              make test-slow) and ruff
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CORE   := $(VENV)/.core
STAMP  := $(VENV)/.installed

.PHONY: run test test-slow lint bench

# The core: what a single run needs (no sweeps, plots, Dask or TCP runtime).
$(CORE): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -e .
	touch $(CORE)

# The core with every extra and the test tools.
$(STAMP): $(CORE)
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

run: $(CORE)
	$(BIN)/ppsim run scenarios/quickstart.toml --out out/quickstart

test: $(STAMP)
	$(BIN)/python -m pytest -q
	$(BIN)/ruff check sim ppsim protocols topologies tests benchmarks

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

lint: $(STAMP)
	$(BIN)/ruff check sim ppsim protocols topologies tests benchmarks

bench: $(STAMP)
	for b in benchmarks/*.py; do $(BIN)/python $$b || exit 1; done
