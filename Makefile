# Two commands do everything on a fresh clone:
#   make run   - virtualenv, install, migrate, seed the demo council, serve on :8000
#   make test  - the whole suite on SQLite and PostgreSQL
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck check-migrations ci clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/harbour demo
	$(BIN)/harbour serve --host 127.0.0.1 --port 8000

test: $(STAMP)
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy api models supervision wellbeing tests bench migrations/env.py

check-migrations: $(STAMP)
	@tmp=$$(mktemp -d); \
	HARBOUR_DATABASE_URL="sqlite+aiosqlite:///$$tmp/check.db" $(BIN)/alembic upgrade head >/dev/null && \
	HARBOUR_DATABASE_URL="sqlite+aiosqlite:///$$tmp/check.db" $(BIN)/alembic check; \
	status=$$?; rm -rf $$tmp; exit $$status

clean:
	rm -rf $(VENV) harbour.db harbour.db-wal harbour.db-shm
