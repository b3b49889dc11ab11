# Two entry points for a fresh machine with python3 (>= 3.11), node/npm and make:
#   make demo   - install everything, then run the live demo on a local chain
#   make test   - install everything, then lint and run the whole test suite
# Both are idempotent: installs re-run only when the lock files change.

PYTHON ?= python3
POETRY_VERSION := 2.5.1
TOOLS := .tools
POETRY := $(TOOLS)/bin/poetry
VENV := .venv
PYTEST_ARGS ?=

# Poetry puts the project's virtualenv in ./.venv, never in an activated venv of the caller.
export POETRY_VIRTUALENVS_IN_PROJECT := true
export POETRY_NO_INTERACTION := 1
unexport VIRTUAL_ENV

.PHONY: deps demo test lint bench docs clean browser-deps

$(POETRY):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed: set PYTHON=python3.11 (or newer) and re-run make.")'
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check poetry==$(POETRY_VERSION)

# --compile: this machine (and many CI images) sets PYTHONDONTWRITEBYTECODE=1, so without .pyc
# files every command would compile typer, pydantic and web3 from source at each start.
$(VENV)/.installed: pyproject.toml poetry.lock | $(POETRY)
	$(POETRY) sync --quiet --compile
	@touch $@

# The project itself is installed editable (its source stays here): compile it too, and any
# venv a Poetry without --compile made. Python ignores a .pyc whose source changed since.
$(VENV)/.compiled: $(VENV)/.installed
	$(VENV)/bin/python -m compileall -q -j 0 $(VENV)/lib tradeexecutor >/dev/null
	@touch $@

node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm is not installed: install Node.js 20+ with npm, then re-run make." >&2; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

deps: $(VENV)/.compiled node_modules/.installed

demo: deps
	$(VENV)/bin/trade-executor demo

lint: deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: lint
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# Headless Chromium for the dashboard browser tests (tests/dashboard/). Installed with apt
# when missing and apt-get exists (CI runs as root); elsewhere the browser tests skip.
browser-deps:
	@if command -v chromium >/dev/null 2>&1; then echo "chromium: $$(command -v chromium)"; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null && echo "chromium installed"; \
	else echo "chromium is not installed and cannot be installed here: the dashboard browser tests will skip."; fi

docs: deps
	$(VENV)/bin/python -m tradeexecutor.cli.reference > docs/cli-reference.md

bench: deps
	@for f in benchmarks/*.py; do echo "== $$f"; $(VENV)/bin/python $$f || exit 1; done

clean:
	rm -rf $(TOOLS) $(VENV) node_modules .pytest_cache .ruff_cache
