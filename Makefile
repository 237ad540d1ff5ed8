# Two commands on a fresh machine: `make run` and `make test`; `make check` is the quick loop.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_TEST := $(VENV)/.installed-test
# The tests `make check` runs: none that starts a broker or a process, none that needs
# PostgreSQL (tests/conftest.py marks every test taking the broker fixture).
QUICK_TESTS := not broker and not stack and not postgres

.PHONY: run test check lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Reinstall only when pyproject.toml changes.
$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(STAMP_TEST): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@ $(STAMP_RUN)

run: $(STAMP_RUN)
	exec $(BIN)/productops up

test: $(STAMP_TEST)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -q -p no:cacheprovider

# The inner loop before a commit: lint, then the tests that start no process.
# `typecheck` (mypy) joins the prerequisites, after `lint`, once that target exists.
check: lint
	$(BIN)/pytest -q -p no:cacheprovider -m "$(QUICK_TESTS)"

lint: $(STAMP_TEST)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(STAMP_TEST)
	$(BIN)/python -m tests.perf.bench_catalog
	$(BIN)/python -m tests.perf.bench_catalog_research
	$(BIN)/python -m tests.perf.bench_catalog_recommendations
	$(BIN)/python -m tests.perf.bench_pricing
	$(BIN)/python -m tests.perf.bench_ingest
	$(BIN)/python -m tests.perf.bench_launch

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
