# Two commands do everything on a fresh machine (Python 3.11+ and Java 17 or 21):
#   make sample   grade the bundled sample (the reference solution) on the bundled fixtures
#   make test     run the tests (pytest)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: sample test lint goldens benchmark

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

sample: $(VENV)/.installed
	$(BIN)/grader grade solution/assignment08 --out out/sample

test: $(VENV)/.installed
	$(BIN)/pytest

lint: $(VENV)/.installed
	$(BIN)/ruff check .

goldens: $(VENV)/.installed
	$(BIN)/grader regenerate

benchmark: $(VENV)/.installed
	$(BIN)/python benchmarks/sizes.py
	$(BIN)/python benchmarks/run.py
