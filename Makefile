# The two commands of the README: `make demo` and `make test`. Everything they need is set up
# here: the virtual environment at .venv, pip packages, and (later) Debian packages.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# The Python OTLP/JSON exporter pins other versions of the shared exporter packages than the
# protobuf exporters, so it lives in its own environment, used by the OTLP/JSON end-to-end test.
JSONVENV := .venv-otlpjson
JSONSTAMP := $(JSONVENV)/.installed-stamp

.PHONY: install test demo bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,demo]'
	touch $@

$(JSONSTAMP):
	$(PYTHON) -m venv $(JSONVENV)
	$(JSONVENV)/bin/pip install -q 'opentelemetry-sdk>=1.45' 'opentelemetry-exporter-otlp-json-http>=0.66b1'
	touch $@

# Debian's Chromium for the browser tests (Playwright drives it with executable_path; no
# browser download).
CHROMIUM := /usr/bin/chromium

$(CHROMIUM):
	if [ "$$(id -u)" = 0 ]; then apt-get update -q && apt-get install -y -q chromium; \
	else sudo apt-get update -q && sudo apt-get install -y -q chromium; fi

install: $(STAMP) $(JSONSTAMP) $(CHROMIUM)

test: install
	$(BIN)/python -m pytest

demo: $(STAMP)
	$(BIN)/spanhouse demo

bench: $(STAMP)
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) $(JSONVENV) spanhouse-data
