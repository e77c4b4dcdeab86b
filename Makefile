# Two commands: `make run` (the demo portal) and `make test` (the whole suite).
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
TEST_PG ?= postgresql+psycopg://jiedian:jiedian@127.0.0.1:5432

.PHONY: run test test-sqlite test-postgresql lint install install-test translations bench clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(PIP) install -q -e ".[test]"
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

run: install
	scripts/services.sh redis || echo "Redis unavailable: starting without background jobs"
	scripts/run.sh

lint: install-test
	$(VENV)/bin/ruff check .

test: install-test
	scripts/services.sh redis postgresql fonts chromium
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-postgresql

test-sqlite: install-test
	JIEDIAN_TEST_DB=sqlite $(VENV)/bin/pytest $(PYTEST_ARGS)

test-postgresql: install-test
	JIEDIAN_TEST_DB=postgresql JIEDIAN_TEST_PG=$(TEST_PG) $(VENV)/bin/pytest $(PYTEST_ARGS)

# Re-extract the strings and merge them into the catalogs (then translate and compile).
translations: install-test
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location -o portal/translations/messages.pot .
	$(VENV)/bin/pybabel update -i portal/translations/messages.pot -d portal/translations --no-location --ignore-obsolete
	$(VENV)/bin/pybabel compile -d portal/translations

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
