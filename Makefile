# creditpolicy — `make run` serves the API with the shipped policy on SQLite; `make test` runs every check.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
# durable-rules does not build or import on Python 3.13: take the newest of 3.12 / 3.11.
PYTHON ?= $(shell for p in python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(not ((3,11) <= sys.version_info[:2] < (3,13)))' 2>/dev/null \
	&& { echo $$p; break; }; done)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install lock browser toolchain lint typecheck unit bench clean

run: install
	$(BIN)/creditpolicy serve --host $(HOST) --port $(PORT)

test: install browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy policy engine api tests
	$(BIN)/lint-imports
	$(BIN)/pytest -q -n auto

install: $(VENV)/.installed

# Installs exactly what requirements.lock names (versions and hashes: what CI tested), with uv
# (a pinned version, fetched into the virtualenv by pip); then the project itself, editable.
UV_VERSION := 0.13.9
UV := $(BIN)/uv

$(VENV)/.installed: pyproject.toml requirements.lock
	@$(MAKE) --no-print-directory toolchain
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check --progress-bar on uv==$(UV_VERSION)
	$(UV) pip install --python $(BIN)/python --require-hashes -r requirements.lock
	$(UV) pip install --python $(BIN)/python --no-deps -e .
	@touch $@

# After changing the dependencies in pyproject.toml: resolve them again (Python 3.11 and 3.12,
# every platform) into requirements.lock, and commit both.
lock: install
	$(UV) pip compile pyproject.toml --extra dev --universal --python-version 3.11 --generate-hashes \
		--quiet --output-file requirements.lock

# The simulation report's browser test draws the page in headless Chromium: install it when the
# machine can (Debian/Ubuntu as root), else say how.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing Chromium (apt-get) for the report's browser test"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		else \
			echo "error: the report's browser test needs Chromium: sudo apt-get install chromium"; exit 1; \
		fi; }

# durable-rules ships only as source: it needs a C compiler and the Python headers.
toolchain:
	@if [ -z "$(PYTHON)" ]; then \
		echo "error: Python 3.11 or 3.12 is required (durable-rules does not run on 3.13)."; \
		echo "  Debian/Ubuntu: sudo apt-get install python3.12 python3.12-venv python3.12-dev"; exit 1; fi
	@command -v gcc >/dev/null 2>&1 || { \
		echo "error: gcc is required to build durable-rules."; \
		echo "  Debian/Ubuntu: sudo apt-get install build-essential   Fedora: sudo dnf install gcc"; exit 1; }
	@$(PYTHON) -c 'import os, sysconfig, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' || { \
		echo "error: the Python headers (Python.h) for $(PYTHON) are missing; durable-rules needs them."; \
		echo "  Debian/Ubuntu: sudo apt-get install $(PYTHON)-dev   Fedora: sudo dnf install python3-devel"; exit 1; }
	@$(PYTHON) -c 'import venv' 2>/dev/null || { echo "error: the venv module is missing: sudo apt-get install $(PYTHON)-venv"; exit 1; }

bench: install
	$(BIN)/python bench/decide.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis build *.egg-info
