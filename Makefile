# make run: set up and start the playground.  make test: set up and run every check.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0

.PHONY: run test quick test-sqlite test-services checks lint format lock curl nodejs

$(PY):
	$(PYTHON) -m venv $(VENV) || { apt-get update && apt-get install -y python3-venv && $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(PY)
	$(PY) -m pip install --quiet --require-hashes -r requirements.txt
	touch $@

# requirements-dev.txt holds the runtime dependencies too, at the same versions.
$(VENV)/.dev: requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet --require-hashes -r requirements-dev.txt
	touch $@

run: $(VENV)/.runtime
	$(PY) manage.py migrate --noinput
	$(PY) manage.py ensure_admin
	@echo
	@echo "  Playground: http://$(HOST):$(PORT)/   (log in with the admin account above)"
	@echo
	PORT=$(PORT) $(PY) -m playground.launch -b $(HOST) -p $(PORT)

# Browser tests drive Debian's Chromium (Playwright cannot download browsers here); the
# "View code" tests run their snippets with curl and node; npm installs axe-core, which the
# accessibility tests load into pages.
# The deployment test runs nginx as docs/deploy.md configures it.
TOOLS := /usr/bin/chromium $(if $(shell command -v curl),,curl) $(if $(shell command -v node),,nodejs) \
	$(if $(shell command -v npm),,npm) /usr/sbin/nginx

/usr/bin/chromium curl nodejs npm:
	apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $(notdir $@)

# The package may start a system nginx on port 80; the tests start their own.
/usr/sbin/nginx:
	apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y nginx
	-nginx -s quit 2>/dev/null

# The browser tests' npm packages, as tests/package-lock.json pins them.
AXE := tests/node_modules/axe-core/axe.min.js

$(AXE): tests/package.json tests/package-lock.json | $(TOOLS)
	npm ci --prefix tests --no-audit --no-fund
	touch $@

# The two passes run at once, and beside them the checks, each pass spread over PYTEST_WORKERS
# processes (pytest-xdist): most of a test's time is spent waiting on servers, sockets and
# Chromium, not on the two cores.
# They share nothing that one could spoil for another: the SQLite file and PostgreSQL's test
# database are each a worker's own (pytest-django names them per worker), every server listens
# on a free port, and the Redis channel layer's groups are named after run ids. `make -O`
# prints each pass's output whole, as it ends; make fails if any of them fails (pytest's
# exit 5, no test run, too).
PYTEST_WORKERS ?= 2
PYTEST := $(PY) -m pytest -n $(PYTEST_WORKERS)

test: $(VENV)/.dev $(TOOLS) $(AXE)
	@$(MAKE) --no-print-directory --jobs=3 --output-sync=target test-sqlite test-services checks

# What needs no test run: style, types, and a migration for every model change. Beside the
# passes, which mostly wait, these cost make test no time of its own.
checks: lint
	$(PY) manage.py makemigrations --check --dry-run

test-sqlite: $(VENV)/.dev
	@echo "== SQLite pass"
	$(PYTEST) -m "not services_only"

# The edit loop: the SQLite pass without the browser tests and those that start servers.
quick: $(VENV)/.dev
	$(PYTEST) -m "not browser and not multiprocess"

# The same suite on PostgreSQL with Redis as the channel layer, less what is the same on any
# backend: the Django-free tests, those marked sqlite_only, and the browser tests not marked
# both_passes.
test-services: $(VENV)/.dev
	@if $(PY) scripts/services_up.py "$(TEST_DATABASE_URL)" "$(TEST_REDIS_URL)"; then \
		echo "== PostgreSQL + Redis pass"; \
		DATABASE_URL="$(TEST_DATABASE_URL)" REDIS_URL="$(TEST_REDIS_URL)" \
			$(PYTEST) -m "not django_free and not sqlite_only"; \
	elif [ "$$CI" = "true" ]; then \
		echo "PostgreSQL or Redis is not reachable, and CI=true: failing."; exit 1; \
	else \
		echo "!!!!!! SKIPPED the PostgreSQL + Redis pass: not reachable (see above). CI fails here. !!!!!!"; \
	fi

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(VENV)/.dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Regenerates both locks from the .in files, with hashes for every platform's files (an arm64
# image installs from the same lock). Pins already in a lock are kept unless its .in file
# changed; LOCK_ARGS=--upgrade moves everything to the newest releases.
LOCK := $(VENV)/bin/uv pip compile --quiet --generate-hashes --universal --python-version 3.11 \
	--custom-compile-command "make lock" $(LOCK_ARGS)

lock: $(VENV)/.dev
	$(LOCK) requirements.in -o requirements.txt
	$(LOCK) requirements-dev.in -o requirements-dev.txt
	$(LOCK) requirements-bench.in -o requirements-bench.txt
