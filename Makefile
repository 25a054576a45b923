# Switchyard: `make demo` runs it, `make test` checks it (see README.md).
# Every target sets up what it needs first and can be run again at any time.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PY := .venv/bin/python

.PHONY: help setup demo test lint bench bench-consume bench-console bench-feed clean distclean

help:
	@echo "make demo       set up, create the demo login, start every Procfile process"
	@echo "make test       set up, run the suite on SQLite, then db_heavy tests on PostgreSQL"
	@echo "make setup      virtualenv + pinned deps, Redis, migrate, bus sync"
	@echo "make lint       ruff check and format check, mypy --strict on eventbus/"
	@echo "make bench      publish benchmark (bench/README.md)"
	@echo "make bench-consume  consumer benchmark, about 3 minutes (bench/README.md)"
	@echo "make bench-console  console push latency under load, about 2 minutes (bench/README.md)"
	@echo "make bench-feed     WebSocket feed fan-out against group_send, about 3 minutes (bench/README.md)"
	@echo "make clean      stop the local Redis; delete var/ data, caches, bench output"
	@echo "make distclean  clean, and delete the virtualenv"

setup:
	@bash scripts/setup.sh

demo: setup
	@bash scripts/demo.sh

# ARGS go to pytest, e.g. make test ARGS="-x tests/eventbus".
test: setup
	@bash scripts/test.sh $(ARGS)

lint:
	@bash scripts/setup.sh --deps-only
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy

bench: setup
	$(PY) bench/publish.py $(ARGS)

# ARGS go to the script, e.g. make bench-consume ARGS="--no-postgres --profile".
bench-consume: setup
	$(PY) bench/consume.py $(ARGS)

bench-console: setup
	$(PY) bench/console.py $(ARGS)

bench-feed: setup
	$(PY) bench/feed.py $(ARGS)

clean:
	@bash scripts/redis.sh stop
	rm -rf var/redis var/db.sqlite3* var/celerybeat-schedule* var/static var/test-results bench/out
	rm -rf .pytest_cache .ruff_cache .mypy_cache
	find . -path ./.venv -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf .venv
