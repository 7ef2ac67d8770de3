# Two commands do everything on a fresh clone:
#   make run   - virtualenv, install, web assets, migrate, seed the demo council, serve on :8000
#   make test  - the whole suite on SQLite and PostgreSQL, and the pages in headless Chromium
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The web pages' assets (GOV.UK Frontend, Chart.js, axe-core) come from npm with the committed
# lock file and are built into a git-ignored folder that Harbour serves under /app/assets.
ASSETS := api/web/assets/.built

.PHONY: run test lint typecheck check-migrations ci clean assets chromium screenshots

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(ASSETS): web/package.json web/package-lock.json web/build.mjs $(wildcard web/src/*)
	cd web && npm ci --no-audit --no-fund --loglevel=error
	cd web && node build.mjs
	touch $(ASSETS)

assets: $(ASSETS)

# The browser tests drive Debian's Chromium; installed with apt-get when missing (as root).
chromium:
	@bash .ci/chromium

run: $(STAMP) $(ASSETS)
	$(BIN)/harbour demo
	$(BIN)/harbour serve --host 127.0.0.1 --port 8000

test: $(STAMP) $(ASSETS) chromium
	$(BIN)/pytest

# PNGs of the main pages for docs/screenshots (the same browser set-up as the tests).
screenshots: $(STAMP) $(ASSETS) chromium
	$(BIN)/python -m tests.web.screenshots docs/screenshots

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
	rm -rf $(VENV) harbour.db harbour.db-wal harbour.db-shm web/node_modules api/web/assets
