"""make bench-ingest: streaming ingest vs the naive way, on a 200k-article input.

The naive way is what a user writes first: read the whole object, parse every line, validate
everything, then split the list into chunks. Both variants write the same chunks through the
same local object store, each in a fresh subprocess so its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.benchfile import peak_rss_mb, run_fresh, write_result  # noqa: E402

DATA = Path(__file__).resolve().parent / "data"
ARTICLES = 200_000


def make_input(n: int) -> Path:
    from newsops.sample import generate, write_jsonl_gz

    path = DATA / f"ingest-{n}.jsonl.gz"
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        tmp = DATA / f".partial-{n}.jsonl.gz"
        started = time.perf_counter()
        write_jsonl_gz(tmp, generate(n, seed=42))
        tmp.rename(path)
        print(f"generated {n} articles in {time.perf_counter() - started:.1f}s -> {path}", flush=True)
    return path


class _RecordingWorkflow:
    """Only the ingest stage is measured here: the workflow start is recorded, not run."""

    def __init__(self) -> None:
        self.started: list[str] = []

    def start(self, run_id, payload):
        from chalicelib.workflow.base import Execution

        self.started.append(run_id)
        return Execution(name=run_id, status="RUNNING")

    def describe(self, run_id):
        return None


def _runtime(home: Path):
    from chalicelib.alerts.local import LocalAlertSink
    from chalicelib.contract.taskconfig import load_tasks
    from chalicelib.ledger.sqlite import SqliteLedger
    from chalicelib.runtime import Runtime
    from chalicelib.settings import Settings
    from chalicelib.store.local import LocalObjectStore

    settings = Settings(home=home)
    return Runtime(settings=settings, store=LocalObjectStore(home / "store"),
                   ledger=SqliteLedger(home / "ledger.sqlite3"), alerts=LocalAlertSink(home / "a.jsonl"),
                   compute=None, workflow=_RecordingWorkflow(), search=None,  # type: ignore[arg-type]
                   tasks=load_tasks())


def variant_streaming(path: Path, home: Path) -> dict:
    from chalicelib.steps.ingest import ingest_object

    rt = _runtime(home)
    key = "incoming/2026-11-27/bench.jsonl.gz"
    with open(path, "rb") as src, rt.store.open_write(key) as dst:
        while block := src.read(1 << 20):
            dst.write(block)
    info = rt.store.head(key)
    started = time.perf_counter()
    outcome = ingest_object(key, info.etag, rt, size=info.size)
    seconds = time.perf_counter() - started
    return {"articles": outcome.articles["input"], "valid": outcome.articles["valid"],
            "chunks": outcome.chunks, "seconds": seconds}


def variant_naive(path: Path, home: Path) -> dict:
    from chalicelib import jsonl
    from chalicelib.contract import keys
    from chalicelib.contract.schema import Article

    rt = _runtime(home)
    started = time.perf_counter()
    data = gzip.decompress(path.read_bytes())
    records = [json.loads(line) for line in data.splitlines() if line.strip()]
    articles = [Article.model_validate(r) for r in records]
    chunk = rt.settings.chunk_size
    for n, i in enumerate(range(0, len(articles), chunk)):
        part = [a.model_dump(mode="json", exclude_none=True) for a in articles[i:i + chunk]]
        rt.store.put(keys.chunk("naive", n), jsonl.encode(part, level=1))
    seconds = time.perf_counter() - started
    return {"articles": len(records), "valid": len(articles),
            "chunks": -(-len(articles) // chunk), "seconds": seconds}


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--variant", choices=["streaming", "naive"])
    p.add_argument("--input", type=Path)
    p.add_argument("--articles", type=int, default=ARTICLES)
    args = p.parse_args()
    if args.variant:
        with tempfile.TemporaryDirectory(prefix="newsops-bench-") as home:
            fn = variant_streaming if args.variant == "streaming" else variant_naive
            result = fn(args.input, Path(home))
        result["peak_rss_mb"] = peak_rss_mb()
        print(json.dumps(result))
        return 0

    path = make_input(args.articles)
    me = Path(__file__).resolve()
    print(f"input: {path} ({path.stat().st_size / 1e6:.0f} MB compressed)", flush=True)
    stream = run_fresh(me, "--variant", "streaming", "--input", str(path))
    print(f"streaming: {stream}", flush=True)
    naive = run_fresh(me, "--variant", "naive", "--input", str(path))
    print(f"naive:     {naive}", flush=True)
    # The same ingest against S3 (a moto server on the loopback, so its memory is not ours).
    from bench.ingest_s3 import measure_s3_ingest

    s3 = measure_s3_ingest(path)
    print(f"s3:        {s3}", flush=True)
    metrics = {"articles_per_s": round(stream["articles"] / stream["seconds"], 1),
               "peak_rss_mb": round(stream["peak_rss_mb"], 1), "articles": stream["articles"],
               "chunks": stream["chunks"], "seconds": round(stream["seconds"], 2),
               "peak_rss_mb_s3": round(s3["peak_rss_mb"], 1)}
    baseline = {"articles_per_s": round(naive["articles"] / naive["seconds"], 1),
                "peak_rss_mb": round(naive["peak_rss_mb"], 1), "seconds": round(naive["seconds"], 2)}
    ratio = round(metrics["articles_per_s"] / baseline["articles_per_s"], 2)
    out = write_result(
        "ingest", metrics, baseline, ratio,
        "articles_per_s >= 20000 and peak_rss_mb < 200 (streaming); peak_rss_mb_s3 < 200 (the same "
        "ingest from and into S3); ratio = streaming/naive throughput",
        rss_ratio=round(baseline["peak_rss_mb"] / metrics["peak_rss_mb"], 2))
    print(f"streaming {metrics['articles_per_s']:.0f} articles/s, peak {metrics['peak_rss_mb']:.0f} MB; "
          f"naive {baseline['articles_per_s']:.0f} articles/s, peak {baseline['peak_rss_mb']:.0f} MB; "
          f"ratio {ratio}x throughput, {baseline['peak_rss_mb'] / metrics['peak_rss_mb']:.1f}x less memory")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
