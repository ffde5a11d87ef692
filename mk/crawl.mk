# Crawler: benchmark against a naive sequential fetch+extract loop at 50 ms and at 100 ms of
# injected latency, both reported (bench/results/crawl.json).
.PHONY: bench-crawl

bench-crawl: $(STAMP)
	$(PY) bench/bench_crawl.py
