# Batch inference: the engine against the naive one-text-at-a-time loop (bench/results/infer.json).
# BENCH_INFER_ARGS="--texts 300 --rounds 6" for a quick look; the recorded run uses the defaults.
.PHONY: bench-infer

bench-infer: $(STAMP)
	$(PY) bench/bench_infer.py $(BENCH_INFER_ARGS)
