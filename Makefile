# make run   - set up .venv, install, run the quickstart scenario and print its cost report
# make test  - set up .venv, install, run the test suite (slow tests skipped: make test-slow) and ruff
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test test-slow lint bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
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
