# Everything a person types: make run, make test, make bench, make lint, make i18n.
# Each target creates .venv if missing and installs into it; a second run is a fast no-op.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench install clean i18n translations

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "techbrief needs Python 3.11 or newer (found " + sys.version.split()[0] + ")")'
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@$(MAKE) --no-print-directory translations
	@touch $(STAMP)

install: $(STAMP)

LOCALES := bot/locales
POT := $(LOCALES)/techbrief.pot

# Compile the .po catalogs into the .mo files gettext reads (also run by install). The bot
# falls back to reading a .po that is newer than its .mo, so a stale compile is never served.
translations: | $(BIN)/python
	@$(BIN)/pybabel compile --statistics -d $(LOCALES) -D techbrief

# After adding or changing user-facing text: extract every marked string and the command
# tree into the template, merge it into each language's .po (new entries are empty, changed
# ones fuzzy: translate them, then `make translations`). tests/i18n names what is missing.
i18n: $(STAMP)
	$(BIN)/python -m bot.runtime.i18n_extract --output $(POT)
	$(BIN)/pybabel update --no-wrap --ignore-obsolete -i $(POT) -d $(LOCALES) -D techbrief
	@$(MAKE) --no-print-directory translations

run: $(STAMP)
	@$(BIN)/techbrief db upgrade
	@$(BIN)/techbrief run

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
