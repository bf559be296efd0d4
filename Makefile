# The two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test lint bench bench-http system-deps assets clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip setuptools wheel

# Stamps re-install when pyproject.toml changes.
$(VENV)/.run-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev,agent]'
	touch $@ $(VENV)/.run-installed

## run: demo instance on http://127.0.0.1:5000 (SQLite under instance/, demo data)
run: $(VENV)/.run-installed assets
	AUTHENCODE_ENV=development $(BIN)/authencode db upgrade
	AUTHENCODE_ENV=development $(BIN)/authencode demo
	@echo "Authen Code: http://$(HOST):$(PORT)/  (LINE simulator: http://$(HOST):$(PORT)/dev/line/)"
	export AUTHENCODE_ENV=development PUBLIC_BASE_URL=$${PUBLIC_BASE_URL:-http://$(HOST):$(PORT)}; \
	$(BIN)/python -m linebot_app.worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT; \
	$(BIN)/flask --app 'authencode:create_app()' run --host $(HOST) --port $(PORT)

## test: install what the suite needs, then run all of it on SQLite and PostgreSQL
test: system-deps $(VENV)/.dev-installed assets
	$(BIN)/python -m pytest -n 2 -p no:cacheprovider

system-deps:
	sh scripts/install-system-deps.sh

## assets: the development/test LIFF bundle (@line/liff + @line/liff-mock via esbuild)
assets:
	sh scripts/build-liff-assets.sh

## lint: ruff (lint and format), mypy on every package and the tests, import layering
lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

## bench: card reads through pcscd + vpcd (needs root); reports and exports on 1,000,000 codes;
## HTTP under wrk (gunicorn + PostgreSQL: webhook, code issuance, outbox) against bare Flask
bench: system-deps $(VENV)/.dev-installed
	$(BIN)/python tests/reader_agent/bench_card_read.py
	$(BIN)/python tests/bench/bench_reports.py
	$(BIN)/python tests/bench/bench_http.py --markdown

## bench-http: only the HTTP benchmark (about 3 minutes)
bench-http: system-deps $(VENV)/.dev-installed
	$(BIN)/python tests/bench/bench_http.py --markdown

clean:
	rm -rf $(VENV) .cache build *.egg-info
