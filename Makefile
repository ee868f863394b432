# The two commands of the README: `make run` and `make test`.
# Each makes the virtual environment and installs what it needs by itself.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Tocsin needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(BIN)/tocsin run

# The rules a reviewer would otherwise check by hand: style, types, and the
# architecture (which package may import which; tests/test_architecture.py).
lint: $(VENV)/.installed-test
	$(BIN)/ruff check node federation migrations tests bench
	$(BIN)/python -m pytest -q tests/test_architecture.py
	$(BIN)/mypy --strict federation node

test: $(VENV)/.installed-test lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

bench: $(VENV)/.installed-run
	$(BIN)/python -m bench $(BENCH_ARGS)
