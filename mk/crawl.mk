# Crawler: benchmark against a naive sequential fetch+extract loop (bench/results/crawl.json).
.PHONY: bench-crawl

bench-crawl: $(STAMP)
	$(PY) bench/bench_crawl.py
