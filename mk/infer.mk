# Batch inference: the engine against the naive one-text-at-a-time loop and sentence-transformers
# encode() (bench/results/infer.json), the shipped Japanese companies task against stock GiNZA
# (bench/results/companies_ja.json), then the shipped tasks.json, every task, against the batched
# library calls and the naive loop (bench/results/tasks.json).
# BENCH_INFER_ARGS="--texts 120 --rounds 4" for a quick look; the recorded run uses the defaults.
.PHONY: bench-infer bench-companies bench-tasks

bench-infer: $(STAMP)
	$(PY) bench/bench_infer.py $(BENCH_INFER_ARGS)
	$(PY) bench/bench_companies_ja.py
	$(PY) bench/bench_tasks.py

bench-companies: $(STAMP)
	$(PY) bench/bench_companies_ja.py

bench-tasks: $(STAMP)
	$(PY) bench/bench_tasks.py
