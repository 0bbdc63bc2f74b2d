# lianxin — two commands do all set-up: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev
PIP    := $(BIN)/python -m pip install --quiet --disable-pip-version-check

.PHONY: run test lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# `make run` installs only what the service needs (faster on a fresh clone); `make test` adds
# the dev tools (pytest, ruff, mypy, playwright).
$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(PIP) -e .
	@touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(PIP) -e '.[dev]'
	@touch $(RUN_STAMP) $@

## run: install into .venv and start the whole service (sandbox when no credentials are set)
run: $(RUN_STAMP)
	$(BIN)/lianxin run

## test: install dev deps and run the whole suite (lint, types, tests)
test: $(DEV_STAMP) lint
	$(BIN)/pytest

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(DEV_STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## bench: every benchmark, each printing its figures (a missed target does not stop the rest)
bench: $(DEV_STAMP)
	-$(BIN)/python bench/wecom_callbacks.py
	-$(BIN)/python bench/pipeline.py
	-$(BIN)/python bench/pipeline_profile.py
	-$(BIN)/python bench/dingtalk_broadcast.py
	-$(BIN)/python bench/redis_outage.py
	-$(BIN)/python bench/pii.py
	-$(BIN)/python bench/insight.py
	-$(BIN)/python bench/hotline_import.py
	-$(BIN)/python bench/workbench.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
