# The README's commands. Everything a fresh machine needs is installed from here.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
SCENARIO ?= credit_risk

.PHONY: test demo bench schemas lint clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found; set PYTHON=python3" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev,train]'
	touch $@

# The web console's browser tests drive Debian's Chromium; where it cannot be installed they skip and say so.
CHROMIUM := /usr/bin/chromium

$(CHROMIUM):
	@command -v apt-get >/dev/null 2>&1 && { apt-get install -y -qq chromium >/dev/null 2>&1 || \
	  { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium >/dev/null 2>&1; }; } || \
	  echo "warning: Chromium could not be installed; the web console's browser tests will skip" >&2

test: $(VENV)/.installed $(CHROMIUM)
	$(BIN)/mypy
	$(BIN)/python -m pytest -n 2 --dist worksteal tests

demo: $(VENV)/.installed
	$(BIN)/python -m scenarios $(SCENARIO)

bench: $(VENV)/.installed
	@command -v wrk >/dev/null 2>&1 || apt-get install -y -qq wrk >/dev/null || { echo "error: wrk is needed (apt-get install wrk)" >&2; exit 1; }
	$(BIN)/python bench/run.py

schemas: $(VENV)/.installed
	$(BIN)/python -m schemas.export

lint: $(VENV)/.installed
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .demo .bench
