# The two commands a user needs: `make run` and `make test`.
# Each one creates the virtualenv and installs what it needs on first use.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
PORT ?= 8000
export PORT

.PHONY: install run test lint unit e2e load bench clean

$(INSTALLED): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $(INSTALLED)

install: $(INSTALLED)

## Serve the API on 127.0.0.1:$(PORT) with an in-memory DynamoDB; Ctrl-C stops everything.
run: $(INSTALLED)
	$(BIN)/python -m devstack

## Lint, then the whole suite: unit, API (in-process moto) and end-to-end (real local stack).
test: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(INSTALLED)
	$(BIN)/ruff check .

unit: $(INSTALLED)
	$(BIN)/python -m pytest -m "not e2e"

e2e: $(INSTALLED)
	$(BIN)/python -m pytest -m e2e

## Bounded load test against a fresh local stack (loopback only; stops by itself).
load: $(INSTALLED)
	$(BIN)/python -m loadtest

## Benchmarks: prints a table and rewrites docs/benchmarks.md. Never part of make test.
bench: $(INSTALLED) $(VENV)/.bench-installed
	$(BIN)/python -m bench

$(VENV)/.bench-installed: bench/requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt
	@touch $@

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build
