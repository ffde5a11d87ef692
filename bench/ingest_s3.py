"""The ingest benchmark's S3 variant: the same input, ingested from and into S3 (moto on 127.0.0.1).

moto runs as a server in its own process: in-process moto would materialise every object it
serves (GetObject returns the whole body), and its memory would be counted as the ingest's.
Over the loopback, the ingest process holds only what it streams, which is what is measured.
The variant process uploads the input with the S3 store's streaming multipart writer, then
runs the real ingest (S3 object store, DynamoDB ledger) and reports its own peak RSS.

    python bench/ingest_s3.py --input bench/data/ingest-200000.jsonl.gz   # prints one JSON line
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.benchfile import peak_rss_mb, run_fresh  # noqa: E402

BUCKET = "newsops-bench"
RUNS, STATE = "newsops-bench-runs", "newsops-bench-state"
_FAKE_AWS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1",
             "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """A moto server on a free loopback port, in its own process, for the duration of the block."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, **_FAKE_AWS})
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the moto server did not start") from None
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def measure_s3_ingest(path: Path) -> dict[str, Any]:
    """Ingest ``path`` through S3 in a fresh process; its figures, ``peak_rss_mb`` included."""
    with moto_server() as endpoint:
        return run_fresh(Path(__file__).resolve(), "--input", str(Path(path).resolve()),
                         "--endpoint", endpoint, env=_FAKE_AWS)


class _RecordingWorkflow:
    """Only ingest is measured: the execution start is recorded, not run."""

    def __init__(self) -> None:
        self.started: list[str] = []

    def start(self, run_id: str, payload: dict[str, Any]) -> Any:
        from chalicelib.workflow.base import Execution

        self.started.append(run_id)
        return Execution(name=run_id, status="RUNNING")

    def describe(self, run_id: str) -> None:
        return None


def _variant(path: Path, endpoint: str) -> dict[str, Any]:
    from chalicelib.alerts.local import LocalAlertSink
    from chalicelib.aws import client
    from chalicelib.contract.taskconfig import load_tasks
    from chalicelib.ledger.dynamodb import DynamoDBLedger, create_tables
    from chalicelib.runtime import Runtime
    from chalicelib.settings import Settings
    from chalicelib.steps.ingest import ingest_object
    from chalicelib.store.s3 import S3ObjectStore

    s3 = client("s3", endpoint_url=endpoint)
    ddb = client("dynamodb", endpoint_url=endpoint)
    s3.create_bucket(Bucket=BUCKET)
    create_tables(ddb, RUNS, STATE)
    store = S3ObjectStore(BUCKET, s3)
    key = "incoming/2026-11-27/bench.jsonl.gz"
    started = time.perf_counter()
    with open(path, "rb") as src, store.open_write(key) as dst:
        while block := src.read(1 << 20):
            dst.write(block)
    upload_seconds = time.perf_counter() - started
    info = store.head(key)
    assert info is not None
    with tempfile.TemporaryDirectory(prefix="newsops-bench-s3-") as home:
        settings = Settings(backend="aws", home=Path(home), bucket=BUCKET, runs_table=RUNS, state_table=STATE)
        rt = Runtime(settings=settings, store=store, ledger=DynamoDBLedger(RUNS, STATE, ddb),
                     alerts=LocalAlertSink(Path(home) / "alerts.jsonl"), compute=None,  # type: ignore[arg-type]
                     workflow=_RecordingWorkflow(), search=None, tasks=load_tasks())  # type: ignore[arg-type]
        started = time.perf_counter()
        outcome = ingest_object(key, info.etag, rt, size=info.size)
        seconds = time.perf_counter() - started
    chunks = sum(1 for _ in store.list(f"runs/{outcome.run_id}/chunks/"))
    return {"articles": outcome.articles["input"], "valid": outcome.articles["valid"],
            "chunks": outcome.chunks, "chunks_in_s3": chunks, "seconds": seconds,
            "upload_seconds": upload_seconds, "input_mb": info.size / 1e6, "etag": info.etag}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--input", type=Path, required=True)
    p.add_argument("--endpoint", help="(internal) the moto server to use; without it one is started")
    args = p.parse_args()
    if args.endpoint is None:
        print(json.dumps(measure_s3_ingest(args.input)))
        return 0
    result = _variant(args.input, args.endpoint)
    result["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
