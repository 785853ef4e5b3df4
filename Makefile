# Everything runs from the project's own virtualenv, created and installed on first use.
# The stamp file makes a second run skip the install until pyproject.toml changes.

PYTHON := $(or $(shell command -v python3.11 || command -v python3),python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# `make run` needs only the project; the rest (tests, lint, bench) also its test extra, which
# builds the FIX engine (quickfix) from source once, about 7 minutes.
TEST_INSTALLED := $(VENV)/.installed-test

.PHONY: run test faults lint format shell clean

run: $(INSTALLED)
	$(BIN)/python -m emsweb.launcher run

test: $(TEST_INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/pytest

# The reliability acceptance suite (RELIABILITY.md section 7): every test marked `fault`, wherever
# it lives, then a table of number, scenario, injected fault, outcome and the invariant checker's
# verdict. SQLite and an embedded Redis unless DATABASE_URL / REDIS_URL say otherwise.
faults: $(TEST_INSTALLED)
	$(BIN)/pytest -m fault -q $(PYTEST_ARGS)

lint: $(TEST_INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(TEST_INSTALLED)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# A Django shell on the embedded default's data (`make run` need not be running; manage.py
# finds it under var/ by itself).
shell: $(INSTALLED)
	$(BIN)/python manage.py shell

clean:
	rm -rf var/test*

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(TEST_INSTALLED): $(INSTALLED)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# The benchmarks (bench/README.md) on the production stack: this PostgreSQL database, created
# afresh with a generated history of a million orders, and this Redis db (flushed); a Celery
# worker, beat and gunicorn as production starts them. About 8 minutes on 2 cores; prints a table
# and writes bench/results/latest.json. BENCH_ARGS=--reuse keeps the database and its history.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/emsweb_bench
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/12

.PHONY: bench
bench: $(TEST_INSTALLED)
	DATABASE_URL=$(BENCH_DATABASE_URL) REDIS_URL=$(BENCH_REDIS_URL) $(BIN)/python -m bench $(BENCH_ARGS)
