# make demo: set up and run the demo corpus.  make test: set up and run the test suite.
VENV ?= .venv
PYTHON ?= python3
BIN = $(VENV)/bin

.PHONY: demo test lint bench clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/python -m pip install --quiet -e .
	$(BIN)/python -m compileall -q tidings
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/activate
	$(BIN)/python -m pip install --quiet -e '.[test,semantic,postgres]'
	$(BIN)/python -m compileall -q tidings
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/tidings demo --dir demo

test: $(VENV)/.installed-test
	$(BIN)/ruff check tidings tests bench scripts
	$(BIN)/python -m pytest

bench: $(VENV)/.installed
	$(BIN)/python bench/pipeline.py

clean:
	rm -rf $(VENV) demo .pytest_cache
