"""A 10,000-chunk run (the most a run has) x 3 tasks on the local executor, to its verdict.

The same pipeline.asl.json, ingest, index Map, verify and reaper as any run; only each array
child is a call in this process (tests/support/inprocess_batch.py: 30,000 worker processes
would take the 2-core CI machine most of an hour). One article per chunk, so 10,000 chunks
stay small. Checks what big runs used to break: the jobs' limits count the run's waves of
children (a healthy run is not stopped), and no index invocation handles more than
``index_slice_chunks`` chunks.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from datetime import UTC, datetime

import pytest

from chalicelib.clock import ManualClock
from chalicelib.contract import keys
from chalicelib.joblimits import ChildLimit, run_limit_s
from chalicelib.ops.reaper import reap
from chalicelib.schema import RunReport
from chalicelib.settings import OpsSettings
from chalicelib.steps.index import SLICE_PREFIX
from chalicelib.steps.ingest import execution_input
from tests.conftest import fake_task
from tests.support.inprocess_batch import InProcessBatch

CHUNKS = 10_000
TASKS = ("embed", "companies", "category")
OPS = OpsSettings(alert_cooldown_s=6 * 3600)


def batch_of(n: int) -> bytes:
    lines = (json.dumps({"url": f"https://news.example/s/{i}", "title": f"Story {i}",
                         "body": f"Northwind said revenue rose {i % 97} percent.", "language": "en"})
             for i in range(n))
    return gzip.compress(("\n".join(lines) + "\n").encode(), compresslevel=1)


@pytest.mark.slow
def test_ten_thousand_chunks_by_three_tasks_run_to_success_and_the_reaper_leaves_them(make_runtime) -> None:
    clock = ManualClock(datetime(2031, 5, 4, 8, 0, tzinfo=UTC))
    rt = make_runtime([fake_task(t) for t in TASKS], clock=clock, chunk_size=1)
    hold = threading.Event()
    batch = InProcessBatch(rt.store, clock, hold=hold)
    rt.compute = batch
    rt.workflow.dispatcher.compute = batch  # type: ignore[attr-defined]
    key = "incoming/2031-05-04/big.jsonl.gz"
    started = time.perf_counter()
    putter = threading.Thread(target=rt.store.put, args=(key, batch_of(CHUNKS)), daemon=True)
    putter.start()  # the put starts the run (ingest -> workflow) and returns at its end

    deadline = time.monotonic() + 240
    while len(batch.list_jobs(states=("RUNNING",))) < len(TASKS):
        assert time.monotonic() < deadline, "the run's three array jobs never started"
        assert putter.is_alive(), "the run ended before its jobs ran"
        time.sleep(0.05)
    jobs = batch.list_jobs(states=("RUNNING",))
    assert sorted(j.array_size for j in jobs) == [CHUNKS] * 3
    [run] = rt.ledger.list_runs()
    spec = rt.tasks.get("embed")

    # One child's bound (what the whole array used to get) is long over: the run goes on.
    clock.advance(spec.attempts * spec.timeout_s + rt.settings.queue_wait_s + 1)
    assert reap(rt, ops=OPS).terminated == []
    # Its bound counts 30,000 children over the local workers, in waves.
    limit = run_limit_s([ChildLimit(CHUNKS, spec.attempts, spec.timeout_s)] * 3, rt.settings)
    assert limit == -(-3 * CHUNKS // rt.settings.workers) * spec.attempts * spec.timeout_s + rt.settings.queue_wait_s
    clock.set(run.created + limit - 1)
    assert reap(rt, ops=OPS).terminated == []

    hold.set()
    putter.join(timeout=600)
    assert not putter.is_alive(), "the run did not end within 10 minutes"
    elapsed = time.perf_counter() - started
    assert batch.children_run == 3 * CHUNKS

    run = rt.ledger.get_run(run.run_id)
    assert (run.state, run.verdict) == ("SUCCEEDED", "ok"), run.detail
    report = RunReport.model_validate_json(rt.store.get(keys.report(run.run_id)))
    assert report.problems == []
    assert {t: (c.chunks_done, c.records) for t, c in report.tasks.items()} == {t: (CHUNKS, CHUNKS) for t in TASKS}
    assert report.indexed == CHUNKS == rt.search.count(run_id=run.run_id)

    # The index step ran per slice, none over index_slice_chunks, together every chunk once.
    slices = sorted((v["first"], v["last"]) for k, v in run.detail.items() if k.startswith(SLICE_PREFIX))
    step = rt.settings.index_slice_chunks
    assert slices == [(i, min(i + step, CHUNKS) - 1) for i in range(0, CHUNKS, step)]
    assert run.detail["index"]["indexed"] == CHUNKS and run.detail["index"]["slices"] == len(slices)
    execution = rt.workflow.describe(run.run_id)
    assert execution.status == "SUCCEEDED"
    # The execution input Step Functions would get: far below its 256 KiB.
    payload = execution_input(rt, run.run_id, CHUNKS).model_dump_json()
    assert len(payload.encode()) < 256 * 1024
    print(f"\n10,000 chunks x 3 tasks, local executor: {elapsed:.1f}s; execution input {len(payload)} bytes")
