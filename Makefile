# lianxin — two commands do all set-up: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint format bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

## run: install into .venv and start the whole service (sandbox when no credentials are set)
run: $(STAMP)
	$(BIN)/lianxin run

## test: install dev deps and run the whole suite (lint, types, tests)
test: $(STAMP) lint
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python bench/wecom_callbacks.py
	$(BIN)/python bench/dingtalk_broadcast.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
