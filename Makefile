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

.PHONY: run test lint typecheck check-migrations ci clean assets chromium screenshots \
	bench-load bench-scale clients

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

# Two pytest-xdist workers, each with its own databases (tests/conftest.py). A test file runs
# whole on one worker (its module fixtures, such as the browser tests' server, start once), in
# collection order, where the `slow` files come first. Serially: `make test PYTEST_WORKERS=0`;
# one file: `.venv/bin/pytest tests/api/test_x.py`.
PYTEST_WORKERS ?= 2
test: $(STAMP) $(ASSETS) chromium
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder

# The OpenAPI document as client generators see it: a Python and a TypeScript client in the
# git-ignored clients/generated/, both without generator warnings, the latter type-checked.
clients: $(STAMP)
	bash .ci/clients

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

# The hot-path load benchmark (docs/PERFORMANCE.md): Harbour and its yardsticks under wrk on
# PostgreSQL (about five minutes; BENCH_ARGS="--duration 8 --rounds 2" by default).
BENCH_ARGS ?=
bench-load: $(STAMP)
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && \
		{ apt-get install -y wrk >/dev/null 2>&1 || \
		  { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }; }; } \
		|| { echo "bench-load needs wrk (apt-get install wrk)"; exit 1; }
	$(BIN)/python -m bench.bench_load $(BENCH_ARGS)

# The scale of the rest (docs/PERFORMANCE.md): oversight over 5,000 staff with 5 and 50 years
# of history, and the reminder sweep over 5,000 staff, on PostgreSQL.
bench-scale: $(STAMP)
	$(BIN)/python -m bench.bench_scale $(BENCH_ARGS)

clean:
	rm -rf $(VENV) harbour.db harbour.db-wal harbour.db-shm web/node_modules api/web/assets \
		clients/node_modules clients/generated schemathesis-report
