# The README's commands. `make run` serves the demo; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := training_app
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install run test system-packages bench lint translations

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed

## run: install, migrate, load the demo data, serve http://127.0.0.1:5000
run: install
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo
	@echo "Ouvrez http://127.0.0.1:5000 (Ctrl+C pour arrêter)."
	$(BIN)/flask run --host 127.0.0.1 --port 5000

## system-packages: Debian's Chromium for the browser tests (Playwright never downloads a browser)
## and LibreOffice, which the tests use to check that every generated document opens
DEBIAN_PACKAGES := chromium fonts-dejavu-core libreoffice-writer-nogui libreoffice-calc-nogui poppler-utils
system-packages:
	@test -x /usr/bin/chromium -a -x /usr/bin/soffice -a -x /usr/bin/pdftotext || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(DEBIAN_PACKAGES); }

## test: every test, on SQLite, or on $$TEST_DATABASE_URL when it is set
test: install system-packages
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python -m bench

lint: install
	$(BIN)/python -m pip install -q ruff && $(BIN)/ruff check training_app tests

## translations: after adding or changing an ngettext() (README, « Pluriels »): the French plurals' catalogue
translations: install
	@mkdir -p build
	$(BIN)/pybabel -q extract -F babel.cfg --no-default-keywords -k ngettext:1,2 --no-location --sort-output \
		--project training_app --version 0.1.0 -o build/messages.pot .
	$(BIN)/pybabel -q update -i build/messages.pot -d training_app/translations -l fr --no-fuzzy-matching \
		--ignore-obsolete
	$(BIN)/pybabel -q compile -d training_app/translations -l fr
