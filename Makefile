# Two commands: `make run` (the demo portal) and `make test` (the whole suite).
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
TEST_PG ?= postgresql+psycopg://jiedian:jiedian@127.0.0.1:5432
# The suite runs on every core (at most 4: each worker has its own database and
# its own redis-server); XDIST= runs it in one process.
XDIST ?= -n auto --maxprocesses=4

.PHONY: run test test-sqlite test-postgresql lint install install-test translations bench clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(PIP) install -q -e ".[test]"
	touch $@

$(VENV)/.installed-bench: $(VENV)/.installed pyproject.toml
	$(PIP) install -q -e ".[bench]"
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

run: install
	scripts/services.sh fonts
	scripts/services.sh redis || echo "Redis unavailable: starting without background jobs"
	scripts/run.sh

lint: install-test
	$(VENV)/bin/ruff check .

test: install-test
	scripts/services.sh redis postgresql fonts chromium nginx openssl
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-postgresql

test-sqlite: install-test
	JIEDIAN_TEST_DB=sqlite $(VENV)/bin/pytest $(XDIST) $(PYTEST_ARGS)

test-postgresql: install-test
	JIEDIAN_TEST_DB=postgresql JIEDIAN_TEST_PG=$(TEST_PG) $(VENV)/bin/pytest $(XDIST) $(PYTEST_ARGS)

# Re-extract the strings and merge them into the catalogs (then translate and compile).
translations: install-test
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --no-wrap -o portal/translations/messages.pot .
	$(VENV)/bin/pybabel update -i portal/translations/messages.pot -d portal/translations --ignore-obsolete --no-fuzzy-matching --no-wrap
	$(VENV)/bin/pybabel compile -d portal/translations

# The load test: 50 users against gunicorn (deploy/gunicorn.conf.py) on a scratch
# PostgreSQL database holding the demo county, on loopback; see bench/LOAD.md.
.PHONY: load
load: $(VENV)/.installed-bench
	scripts/services.sh redis postgresql
	bench/load/run.sh

# Benchmarks against bare baselines (bench/README.md): generates the data once
# (bench/data/, PostgreSQL databases jiedian_bench_*), prints every figure with
# its ratio and writes bench/RESULTS.md. `make bench SIZE=county` is the quick run.
SIZE ?= province
DBS ?= sqlite,postgresql
RUNS ?= 5
bench: install
	scripts/services.sh redis postgresql fonts
	FLASK_APP=wsgi $(VENV)/bin/flask print-fonts
	BENCH_PG=$(TEST_PG) $(PY) -m bench.run --size $(SIZE) --db $(DBS) --runs $(RUNS) --write $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
