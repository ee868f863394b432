# The commands of the README: `make run`, `make demo` and `make test`.
# Each makes the virtual environment and installs what it needs by itself.
#
# Installing goes through uv (from PyPI, into the venv) when it can be had: it
# resolves and downloads in parallel, so a first `make run` answers in seconds
# rather than a minute. `make run INSTALLER=pip` installs with pip alone, and
# pip is also what is used when uv cannot be installed.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLER ?= uv

# `install SPEC`: into the venv, with uv when it is there (and pip beside, for
# whoever runs `.venv/bin/pip` later: bench/ does), with pip otherwise.
install = if [ -x $(BIN)/uv ]; then \
		$(BIN)/uv pip install --quiet --python $(BIN)/python -e $(1) pip; \
	else \
		$(BIN)/python -m pip install --quiet -e $(1); \
	fi

.PHONY: run demo demo-reset test lint bench clean messages

# No pip in the new venv at first (ensurepip takes longer than all the rest):
# the system's pip puts uv there; without a usable pip or uv, ensurepip after all.
$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Tocsin needs Python 3.11 or newer")'
	$(PYTHON) -m venv --without-pip $(VENV)
	@if [ "$(INSTALLER)" = uv ] && $(PYTHON) -m pip --python $(BIN)/python install --quiet uv; then \
		echo "Installing with uv"; \
	else \
		echo "Installing with pip"; \
		$(BIN)/python -m ensurepip --upgrade >/dev/null && \
		{ [ "$(INSTALLER)" != uv ] || $(BIN)/python -m pip install --quiet uv || true; }; \
	fi

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	@$(call install,.)
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	@$(call install,".[test]")
	touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(BIN)/tocsin run

# Three nodes on 127.0.0.1:8001-8003 that follow each other (node/demo.py).
# Ctrl-C stops them; their data stays in ./demo-data until `make demo-reset`.
demo: $(VENV)/.installed-run
	$(BIN)/python -m node.demo $(DEMO_ARGS)

demo-reset:
	rm -rf demo-data

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

# Translations (docs/i18n.md): extract the strings the sources use (node/locale/DOMAIN.cfg
# names the files of each catalogue) and update every language's DOMAIN.po from them,
# keeping what is translated. New strings arrive empty: the catalogue tests then list them.
# Babel's dated and placeholder header lines are dropped, so a run that finds nothing new
# changes nothing.
CATALOGUES ?= $(basename $(notdir $(wildcard node/locale/*.cfg)))
messages: $(VENV)/.installed-run
	@set -e; pot=$$(mktemp -d); for domain in $(CATALOGUES); do \
		$(BIN)/pybabel -q extract -F node/locale/$$domain.cfg -k lazy_gettext -k lazy_pgettext:1c,2 \
			--sort-by-file --add-location=file --project=Tocsin -o $$pot/$$domain.pot node; \
		for po in node/locale/*/LC_MESSAGES/$$domain.po; do \
			lang=$$(basename $$(dirname $$(dirname $$po))); \
			$(BIN)/pybabel -q update -i $$pot/$$domain.pot -d node/locale -D $$domain \
				-l $$lang --ignore-obsolete --no-fuzzy-matching; \
			sed -i -E '/^"(POT-Creation-Date|PO-Revision-Date: YEAR|Last-Translator: FULL NAME|Language-Team: .*LL@li.org|Report-Msgid-Bugs-To: EMAIL)/d' $$po; \
			echo "$$po: $$(grep -c '^msgid ' $$po) messages"; \
		done; \
	done; rm -rf $$pot
