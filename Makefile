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

.PHONY: demo test lint install bench-ingest clean test-shifted-clock

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
	# The allowed imports (pyproject.toml [tool.importlinter]): the job, the core, the backends.
	PYTHONPATH=.:batch_container $(VENV)/bin/lint-imports --no-cache

test: $(STAMP) lint
	$(PY) -m pytest -q
	$(MAKE) --no-print-directory test-shifted-clock

# The time-sensitive tests (verifier, reaper, findings, ingest lease, crawl freshness, status
# API, ledgers) again with the wall clock a year ahead and a month back, in every process they
# start (scripts/shifted-clock, libfaketime): a test that compares a calendar date it wrote
# with the real clock fails here, not on the day the real clock passes that date.
SHIFTED_CLOCK_OFFSETS ?= +400d -30d
SHIFTED_CLOCK_TESTS ?= tests/test_clock.py tests/test_ingest.py tests/test_ledger_sqlite.py \
	tests/ops/test_verifier.py tests/ops/test_reaper.py tests/ops/test_findings.py \
	tests/ops/test_done_criteria.py tests/ops/test_api.py tests/ops/test_wiring.py \
	tests/ops/test_observability.py tests/aws/test_ingest_aws.py \
	tests/aws/test_adapters_aws.py::test_a_stale_unstarted_claim_is_taken_over_by_one_taker \
	tests/aws/test_adapters_aws.py::test_a_released_claim_is_free_at_once_and_a_finished_run_is_never_released

test-shifted-clock: $(STAMP)
	@for offset in $(SHIFTED_CLOCK_OFFSETS); do \
		bash scripts/shifted-clock $$offset $(PY) -m pytest -q -p no:cacheprovider $(SHIFTED_CLOCK_TESTS) \
			|| exit 1; \
	done

bench-ingest: $(STAMP)
	$(PY) bench/bench_ingest.py

clean:
	rm -rf .newsops build

# Each area adds its own targets (bench-*, package, deploy, ...) in mk/<area>.mk.
-include mk/*.mk
