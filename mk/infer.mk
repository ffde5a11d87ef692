# Batch inference: the engine against the naive one-text-at-a-time loop (bench/results/infer.json),
# then the shipped Japanese companies task against stock GiNZA (bench/results/companies_ja.json).
# BENCH_INFER_ARGS="--texts 300 --rounds 6" for a quick look; the recorded run uses the defaults.
.PHONY: bench-infer bench-companies

bench-infer: $(STAMP)
	$(PY) bench/bench_infer.py $(BENCH_INFER_ARGS)
	$(PY) bench/bench_companies_ja.py

bench-companies: $(STAMP)
	$(PY) bench/bench_companies_ja.py
