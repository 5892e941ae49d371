# Moot: `make run` to try it, `make test` to check it. Both install what they need first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help install run test lint format typecheck pytest vendor schema lock clean system-postgres system-browser bench system-wrk

help:
	@echo "make run        install, start PostgreSQL (private unless DATABASE_URL is set), migrate, load the demo, serve on http://$(HOST):$(PORT)"
	@echo "make test       install, then lint, type-check and run the whole test suite on a throwaway PostgreSQL"
	@echo "make schema     refresh graphql/schema.graphql from the code"
	@echo "make vendor     refresh web/static/vendor/htmx from the pinned htmx.org package"
	@echo "make bench       measure speed against each workload's physical limit (writes bench/results/)"
	@echo "make lock       re-pin every Python dependency into constraints.txt"
	@echo "make clean      remove the virtualenv, node_modules and caches (keeps var/, your data)"

# --- installation -----------------------------------------------------------------------------

$(BIN)/moot: pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Moot needs Python 3.11 or newer (set PYTHON=...)"; exit 1; }
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	touch $(BIN)/moot

node_modules/.package-lock.json: package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed for the accessibility tests (Debian: apt-get install npm)"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error

install: $(BIN)/moot system-postgres node_modules/.package-lock.json

# PostgreSQL server programs, for the private database used when DATABASE_URL is unset.
system-postgres:
	@if [ -z "$$DATABASE_URL" ] && ! command -v pg_ctl >/dev/null && ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing PostgreSQL (Debian package postgresql)"; \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql; \
	  else \
	    echo "PostgreSQL is not installed. Install it (Debian/Ubuntu: sudo apt-get install postgresql; macOS: brew install postgresql)"; \
	    echo "or set DATABASE_URL=postgresql+asyncpg://user:password@host:5432/moot to use an existing database."; \
	    exit 1; \
	  fi; \
	fi

# Debian's Chromium, driven by Playwright in the browser tests.
system-browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing Chromium (Debian package chromium)"; \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	  else \
	    echo "The browser tests need Debian's Chromium at /usr/bin/chromium: sudo apt-get install chromium"; \
	    exit 1; \
	  fi; \
	fi

# wrk, the HTTP load generator of `make bench` (Debian package wrk).
system-wrk:
	@if ! command -v wrk >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk; \
	  else \
	    echo "make bench needs wrk (Debian/Ubuntu: sudo apt-get install wrk)"; exit 1; \
	  fi; \
	fi

# --- everyday ----------------------------------------------------------------------------------

run: install
	HOST=$(HOST) PORT=$(PORT) $(BIN)/moot serve --demo

test: install system-browser
	$(MAKE) lint typecheck pytest

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format:
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck:
	$(BIN)/mypy

pytest:
	$(BIN)/pytest

# Measures every workload against its physical baseline on this machine (about 4 minutes);
# writes bench/results/latest.{json,md}. BENCH_ARGS=--profile adds py-spy profiles.
BENCH_ARGS ?=
bench: $(BIN)/moot system-postgres system-wrk
	$(BIN)/python -m server.bench.run $(BENCH_ARGS)

schema: $(BIN)/moot
	$(BIN)/moot schema print --out graphql/schema.graphql

vendor: node_modules/.package-lock.json
	$(BIN)/python -m server.vendor

lock: $(BIN)/moot
	$(BIN)/pip freeze --exclude-editable | grep -v '^moot' > constraints.txt

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache
