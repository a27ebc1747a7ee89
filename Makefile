# Thin wrappers: everything real lives in the `tweetbots` CLI and the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TORCH_PIN := torch==2.13.0

.PHONY: demo test lint serve bench install browser

# Installs torch by its exact pin first: a bare `torch` would pull gigabytes of CUDA wheels.
$(BIN)/tweetbots: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q $(TORCH_PIN)
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(BIN)/tweetbots

# The browser test drives Debian's Chromium (no browser download): install it if missing.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
browser:
	test -x /usr/bin/chromium || $(SUDO) apt-get install -y -q chromium \
	  || ($(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium)

demo: install
	$(BIN)/tweetbots demo

test: install browser
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

serve: install
	$(BIN)/tweetbots serve

bench: install
	$(BIN)/python bench/clean.py
	$(BIN)/python bench/train.py --small  # CPU smoke run; on a GPU: bench/train.py
	$(BIN)/python bench/orchestration.py
