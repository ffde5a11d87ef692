"""A 10,000-chunk run x 3 tasks on AWS, in moto: ingest into S3 and DynamoDB, the real
pipeline.asl.json executed by moto's Step Functions with its Batch array jobs of 10,000
children, the index Map's 100 invocations, and the reaper over Batch.

moto's Batch runs no container and its Lambda answers queued payloads, so the index function's
real code is then run here for every slice the execution invoked, with the payload it got,
against the moto bucket and table. What is measured against Step Functions' quotas: the
execution's history events (25,000 at most) and every state's payload (256 KiB at most).
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from chalicelib.joblimits import ChildLimit, run_limit_s
from chalicelib.ops.reaper import reap
from chalicelib.settings import OpsSettings
from chalicelib.steps.index import SLICE_PREFIX, index_summary
from chalicelib.steps.ingest import ingest_object
from tests.aws.moto_world import World, hold_running, task_parameters

pytestmark = pytest.mark.filterwarnings(
    "ignore:Exception in thread WaitForTaskToken_SyncTask:pytest.PytestUnhandledThreadExceptionWarning")

CHUNKS = 10_000
TASKS = ("embed", "companies", "category")
HISTORY_LIMIT = 25_000  # events in one Step Functions execution's history
PAYLOAD_LIMIT = 256 * 1024  # bytes of one state's input or output, and of the execution input
OPS = OpsSettings(alert_cooldown_s=6 * 3600)


@pytest.fixture
def world(moto_env: None, tmp_path: Path) -> Iterator[World]:
    w = World.create(task_names=TASKS, with_pipeline=True)
    tasks = [{"name": t, "kind": "text-classification", "model": "none", "attempts": 2, "timeout_s": 600}
             for t in TASKS]
    with w.installed_runtime(tmp_path, tasks, chunk_size=1) as rt:
        w.rt = rt  # type: ignore[attr-defined]
        try:
            yield w
        finally:
            w.stop_all()


def _input(n: int) -> bytes:
    lines = (json.dumps({"url": f"https://news.example/s/{i}", "title": f"Story {i}",
                         "body": f"Northwind said revenue rose {i % 97} percent.", "language": "en"})
             for i in range(n))
    return gzip.compress(("\n".join(lines) + "\n").encode(), compresslevel=1)


def _history(w: World, arn: str) -> list[dict[str, Any]]:
    sfn = w.client("stepfunctions")
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": arn, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**kwargs)
        events += page["events"]
        if not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]


def _payloads(event: dict[str, Any]) -> list[str]:
    """Every input, output and parameters string an event carries."""
    out = []
    for details in event.values():
        if isinstance(details, dict):
            out += [v for k, v in details.items() if k in ("input", "output", "parameters") and isinstance(v, str)]
    return out


@pytest.mark.slow
def test_ten_thousand_chunks_by_three_tasks_on_aws(world: World) -> None:
    rt = world.rt  # type: ignore[attr-defined]
    t0 = time.perf_counter()
    key = "incoming/2031-05-04/big.jsonl.gz"
    info = rt.store.put(key, _input(CHUNKS))
    slices = -(-CHUNKS // rt.settings.index_slice_chunks)
    world.queue_lambda_results(*[{"indexed": rt.settings.index_slice_chunks, "failed": 0}] * slices,
                               {"verdict": "ok", "report": "s3://x/report.json", "problems": []})
    outcome = ingest_object(key, info.etag, rt, size=info.size)
    t_ingest = time.perf_counter() - t0
    assert outcome.status == "started" and outcome.chunks == CHUNKS
    rid = outcome.run_id
    arn = f"{world.state_machine_arn.replace(':stateMachine:', ':execution:')}:{rid}"
    described = world.wait(arn, timeout_s=600)
    t_run = time.perf_counter() - t0
    if described["status"] != "SUCCEEDED":  # say why, not only that it failed
        failures = [{k: v for k, v in e.items() if k.endswith("FailedEventDetails") or k == "type"}
                    for e in _history(world, arn) if "Failed" in e["type"] or "TimedOut" in e["type"]]
        pytest.fail(f"execution {described['status']}: {described.get('error')}: "
                    f"{str(described.get('cause'))[:2000]}; failed events: {str(failures[:5])[:3000]}")
    assert len(described["input"].encode()) < PAYLOAD_LIMIT

    events = _history(world, arn)
    sizes = [len(p.encode()) for e in events for p in _payloads(e)]
    print(f"\n10,000 chunks x 3 tasks under moto: {len(events)} history events of the "
          f"{HISTORY_LIMIT:,} allowed; largest payload {max(sizes):,} bytes of {PAYLOAD_LIMIT:,}; "
          f"ingest {t_ingest:.1f}s, to SUCCEEDED {t_run:.1f}s")
    assert len(events) < HISTORY_LIMIT
    assert max(sizes) < PAYLOAD_LIMIT

    submitted = task_parameters(events, "batch")
    assert sorted(p["ArrayProperties"]["Size"] for p in submitted) == [CHUNKS] * 3
    assert {p["Timeout"]["AttemptDurationSeconds"] for p in submitted} == {600}  # per child
    limit = run_limit_s([ChildLimit(CHUNKS, 2, 600)] * 3, rt.settings)
    assert limit == -(-3 * CHUNKS // rt.settings.max_parallel_jobs) * 2 * 600 + rt.settings.queue_wait_s
    timeouts = {e["taskScheduledEventDetails"].get("timeoutInSeconds") for e in events
                if e["type"] == "TaskScheduled" and e["taskScheduledEventDetails"]["resourceType"] == "batch"}
    assert timeouts == {limit}

    # The index step: one invocation per slice, each over at most index_slice_chunks chunks,
    # together every chunk once. Each is run here with its payload, as Lambda would.
    invoked = [p["Payload"] for p in task_parameters(events, "lambda")
               if p["FunctionName"] == world.lambda_arns["index"]]
    assert len(invoked) == slices
    assert sorted(c for p in invoked for c in range(p["first"], p["last"] + 1)) == list(range(CHUNKS))
    assert max(p["last"] - p["first"] + 1 for p in invoked) <= rt.settings.index_slice_chunks
    import app

    # The real index code over every slice, four at a time as the Map's MaxConcurrency lets
    # Lambda run them: the slices' ledger entries land in one DynamoDB item side by side.
    t1 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=4) as pool:
        indexed = list(pool.map(lambda payload: app.index(payload, None)["indexed"], invoked))
    assert indexed == [p["last"] - p["first"] + 1 for p in invoked]
    app.index(invoked[0], None)  # a retried slice: the same documents again, counted once
    t_index = time.perf_counter() - t1
    run = rt.ledger.get_run(rid)
    assert sum(k.startswith(SLICE_PREFIX) for k in run.detail) == slices
    summary = index_summary(run.detail)
    assert summary is not None
    assert (summary["indexed"], summary["failed"], summary["chunks"]) == (CHUNKS, 0, CHUNKS)
    assert rt.search.count(run_id=rid) == CHUNKS
    print(f"index step, real code over moto S3 and DynamoDB: {CHUNKS:,} documents in {slices} slices "
          f"in {t_index:.1f}s")

    # The reaper, while the three array jobs are (again) running: past one child's bound it
    # leaves them; past the run's waves they are stopped.
    jobs = world.jobs()
    for job in jobs:
        hold_running(job["jobId"])
    created = max(j["createdAt"] for j in jobs) / 1000
    assert reap(rt, now=created + 2 * 600 + rt.settings.queue_wait_s + 1, ops=OPS).terminated == []
    assert reap(rt, now=created + limit - 5, ops=OPS).terminated == []
    stopped = reap(rt, now=max(j["createdAt"] for j in jobs) / 1000 + limit + 60, ops=OPS).terminated
    assert sorted(t["name"] for t in stopped) == sorted(f"{rid}-{t}" for t in TASKS)
