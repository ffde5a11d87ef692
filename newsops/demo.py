"""``make demo``: a generated batch of news flows through the real workflow on this machine."""

from __future__ import annotations

import logging
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from chalicelib import keys
from chalicelib.ops.verifier import format_verdict, run_verifier
from newsops.local import local_runtime
from newsops.summary import print_run_summary

log = logging.getLogger("newsops.demo")


def run_demo(*, articles: int = 240, chunk_size: int = 40, seed: int = 7) -> int:
    from newsops.sample import generate, write_jsonl_gz

    started = time.time()
    with tempfile.TemporaryDirectory(prefix="newsops-demo-") as tmp:
        batch = Path(tmp) / "batch.jsonl.gz"
        truth = Path(tmp) / "truth.jsonl"
        n = write_jsonl_gz(batch, generate(articles, seed=seed), with_truth_path=truth)
        # A fresh batch id per demo: the same object version never starts a second run.
        batch_id = f"demo-{datetime.now(UTC):%Y%m%dT%H%M%S}"
        key = keys.incoming(batch_id, datetime.now(UTC))
        with local_runtime(chunk_size=chunk_size) as rt:
            log.info("demo: %d generated articles -> %s (this put triggers the run)", n, key)
            info = rt.store.put(key, batch.read_bytes())
            rid = keys.run_id(key, info.etag)
            status = print_run_summary(rt, rid)
            # The scheduled verifier's view too: every run and source, not only this one.
            print(format_verdict(run_verifier(rt)))
    print(f"  demo took {time.time() - started:.1f}s")
    return status
