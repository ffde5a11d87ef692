# newsops: `make demo` runs the pipeline on this machine, `make test` runs every check.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
REQS := requirements.txt batch_container/requirements.txt requirements-dev.txt constraints.txt pyproject.toml
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: demo test lint install bench-ingest clean

$(STAMP): $(REQS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip==26.2.1
	# torch first and alone, exactly pinned: the CPU wheel; nothing later may replace it.
	$(PY) -m pip install -q --disable-pip-version-check torch==2.13.0
	$(PY) -m pip install -q --disable-pip-version-check -c constraints.txt \
		-r requirements.txt -r batch_container/requirements.txt -r requirements-dev.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/newsops demo

lint: $(STAMP)
	$(VENV)/bin/ruff check .

test: $(STAMP) lint
	$(PY) -m pytest -q

bench-ingest: $(STAMP)
	$(PY) bench/bench_ingest.py

clean:
	rm -rf .newsops build

# Each area adds its own targets (bench-*, package, deploy, ...) in mk/<area>.mk.
-include mk/*.mk
