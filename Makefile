# Two commands on a fresh machine: `make run` and `make test`; `make check` is the quick loop.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_TEST := $(VENV)/.installed-test
# The tests `make check` runs: none that starts a broker or a process, none that needs
# PostgreSQL or Redis (tests/conftest.py marks every test taking the broker fixture or
# the redis_limits one), and not the schemathesis runs (tests/contracts/test_schemathesis.py),
# which take minutes.
QUICK_TESTS := not broker and not stack and not postgres and not redis and not schemathesis

.PHONY: run test check lint typecheck bench clean

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

# Two pytest-xdist workers (each with its own broker, tmp dirs and databases) for all but
# the tests that start a whole stack of processes; those still run one at a time, as they
# wait on real processes' recovery and two stacks on two cores would only compete.
# (`--dist loadgroup` could overlap them with the rest, but with pytest 9.2 it silently
# stops grouping: pytest-xdist issue #1386.)
test: lint typecheck
	$(BIN)/pytest -q -p no:cacheprovider -n 2 -m "not stack"
	$(BIN)/pytest -q -p no:cacheprovider -m stack

# The inner loop before a commit: lint, type check, then the tests that start no process
# (on two workers, as in `make test`).
check: lint typecheck
	$(BIN)/pytest -q -p no:cacheprovider -n 2 -m "$(QUICK_TESTS)"

lint: $(STAMP_TEST)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Strict on shared/ and gateway/, the default level on services/ and tests/ (pyproject's
# [tool.mypy]).
typecheck: $(STAMP_TEST)
	$(BIN)/mypy shared gateway services tests

# Each bench records its figures in var/bench/; the compare prints each against the run before.
bench: $(STAMP_TEST)
	$(BIN)/python -m tests.perf.bench_catalog
	$(BIN)/python -m tests.perf.bench_catalog_research
	$(BIN)/python -m tests.perf.bench_catalog_recommendations
	$(BIN)/python -m tests.perf.bench_pricing
	$(BIN)/python -m tests.perf.bench_plans
	$(BIN)/python -m tests.perf.bench_ingest
	$(BIN)/python -m tests.perf.bench_triage
	$(BIN)/python -m tests.perf.bench_relay
	$(BIN)/python -m tests.perf.bench_sqlite_inserts
	$(BIN)/python -m tests.perf.bench_gateway
	$(BIN)/python -m tests.perf.bench_routing
	$(BIN)/python -m tests.perf.bench_knowledge
	$(BIN)/python -m tests.perf.bench_surveys
	$(BIN)/python -m tests.perf.bench_paused_broker
	$(BIN)/python -m tests.perf.bench_launch
	$(BIN)/python -m tests.perf.bench_scale
	$(BIN)/python -m tests.perf.compare

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache
