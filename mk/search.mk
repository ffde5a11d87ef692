# Search: bulk vs one request per document on osmem, and the local engine's indexing and query
# speed at 50k articles (bench/results/index.json).
.PHONY: bench-index

bench-index: $(STAMP)
	$(PY) bench/bench_index.py
