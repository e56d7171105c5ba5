# Rapport: `make run` serves the app, `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint fmt bench clean install

$(BIN)/rapport: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	@touch $@

install: $(BIN)/rapport

run: install
	$(BIN)/rapport serve --host $(HOST) --port $(PORT)

test: install
	$(BIN)/ruff check app tests bench
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check app tests bench

fmt: install
	$(BIN)/ruff format app tests bench

bench: install
	$(BIN)/python bench/turns.py

clean:
	rm -rf $(VENV) .pytest_cache data/test-*
