# Every target builds what it needs from nothing: a fresh clone needs only python3 (>= 3.11), node and npm.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONFORMANCE := tests/conformance

.PHONY: test demo lint typecheck unit install npm benchmark mutation clean

$(BIN)/python:
	@echo "Creating $(VENV) with $(PYTHON) ..."
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# The demo needs the adapter and its emulators only, not the development tools; pip shows what it fetches.
$(VENV)/.installed-demo: pyproject.toml constraints.txt | $(BIN)/python
	@echo "Installing what the demo needs (first run only; later runs start at once) ..."
	$(BIN)/python -m pip install --progress-bar on --no-input -c constraints.txt -e '.[demo]'
	touch $@

$(CONFORMANCE)/node_modules/.package-lock.json: $(CONFORMANCE)/package-lock.json
	cd $(CONFORMANCE) && npm ci --no-audit --no-fund --loglevel=error

npm: $(CONFORMANCE)/node_modules/.package-lock.json

lint: install
	$(BIN)/ruff check adapter tests benchmarks tools
	$(BIN)/ruff format --check adapter tests benchmarks tools

typecheck: install
	$(BIN)/mypy

test: install npm lint typecheck
	$(BIN)/python -m pytest

demo: $(VENV)/.installed-demo
	$(BIN)/servicenow-adapter demo

benchmark: install npm
	$(BIN)/python -m benchmarks

# Mutation run over the bridge and validation modules (docs/testing.md); minutes, so not part of `make test`.
# MODULES=adapter/bridge/access.py limits it to some modules.
mutation: install npm
	$(BIN)/python tools/mutation.py $(MODULES)

clean:
	rm -rf $(VENV) $(CONFORMANCE)/node_modules .mypy_cache .ruff_cache .pytest_cache
