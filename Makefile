# Two commands on a fresh machine: `make run` and `make test`. Both set up what they
# need first (Debian packages, a virtualenv, the package in editable mode).
SHELL := /bin/bash
VENV ?= .venv
STAMP := $(VENV)/.dialtone-installed
BIN := $(VENV)/bin

# A .venv made by an older Python (3.10) would be reused forever after: one line, stop
# (`make clean` still runs, to delete it).
ifeq ($(filter clean,$(MAKECMDGOALS)),)
VENV_PYTHON := $(shell [ -x "$(BIN)/python" ] && "$(BIN)/python" -c 'import sys; print("ok" if sys.version_info >= (3, 11) else sys.version.split()[0])' 2>/dev/null)
ifneq ($(VENV_PYTHON),)
ifneq ($(VENV_PYTHON),ok)
$(error $(VENV) was made by Python $(VENV_PYTHON); dialtone needs 3.11+: run `make clean` (or rm -rf $(VENV)), then make again with python3 >= 3.11)
endif
endif
endif

.PHONY: setup run test lint typecheck unit clean

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/setup.sh
	bash scripts/setup.sh $(VENV)
	touch $(STAMP)

## The main job: the worker when LIVEKIT_URL is set, else a simulated call (offline), then
## the web console with that call in it (Ctrl-C stops it; `dialtone run --no-serve`: no console).
run: $(STAMP)
	$(BIN)/dialtone run

## Lint, type check, then the whole test suite: on TEST_WORKERS pytest-xdist workers (more
## than the cores: the simulated calls play in real time and mostly wait, about 0.6 of a
## core in all), then the tests marked `serial` (timing compared across calls) alone.
## The slowest 15 are listed: where the time goes.
TEST_WORKERS ?= 6
test: $(STAMP) lint typecheck
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) -m "not serial" --durations=15
	$(BIN)/python -m pytest -q -m serial

## Style, then the layer contract (import-linter: nothing imports upward, no cycles).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

clean:
	rm -rf $(VENV) out .mypy_cache .ruff_cache .pytest_cache
