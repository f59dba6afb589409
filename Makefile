# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv and install what they need.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install --disable-pip-version-check -q

.PHONY: demo test lint bench sar clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q --upgrade pip

$(VENV)/.runtime: pyproject.toml | $(BIN)/python
	$(PIP) -e .
	touch $@

$(VENV)/.dev: pyproject.toml | $(BIN)/python
	$(PIP) -e ".[dev,interop,bench]"
	touch $@ $(VENV)/.runtime

demo: $(VENV)/.runtime
	$(BIN)/skyhive run examples/zurich-2000.yaml --record out/demo.mcap --summary out/demo.summary.json

sar: $(VENV)/.runtime
	$(BIN)/skyhive run examples/sar-100.yaml --record out/sar.mcap --summary out/sar.summary.json

lint: $(VENV)/.dev
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python tools/import_rules.py src/skyhive

test: lint
	$(BIN)/pytest -q

bench: $(VENV)/.runtime
	$(BIN)/skyhive bench

clean:
	rm -rf $(VENV) out .mypy_cache .ruff_cache .pytest_cache
