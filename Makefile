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

# The core with every extra and the test tools, and the example protocol package
# (examples/dot_product, found by its entry point; the tests run it).
$(STAMP): $(CORE) examples/dot_product/pyproject.toml
	$(BIN)/python -m pip install -q -e '.[test]'
	$(BIN)/python -m pip install -q -e examples/dot_product
	touch $(STAMP)

run: $(CORE)
	$(BIN)/ppsim run scenarios/quickstart.toml --out out/quickstart

test: $(STAMP)
	$(BIN)/python -m pytest -q
	$(BIN)/ruff check sim ppsim protocols topologies tests benchmarks examples

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

lint: $(STAMP)
	$(BIN)/ruff check sim ppsim protocols topologies tests benchmarks examples

bench: $(STAMP)
	for b in benchmarks/*.py; do $(BIN)/python $$b || exit 1; done
