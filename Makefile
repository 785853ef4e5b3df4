# Everything runs from the project's own virtualenv, created and installed on first use.
# The stamp file makes a second run skip the install until pyproject.toml changes.

PYTHON := $(or $(shell command -v python3.11 || command -v python3),python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: run test lint format shell clean

run: $(INSTALLED)
	$(BIN)/python -m emsweb.launcher run

test: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/pytest

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(INSTALLED)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# A Django shell on the embedded default's data (`make run` need not be running).
shell: $(INSTALLED)
	eval "$$($(BIN)/python -m emsweb.launcher env)" && $(BIN)/python manage.py shell

clean:
	rm -rf var/test*

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@
