"""newsops replay on AWS, in moto: the same pipeline state machine, one execution per archived
batch, named by the replay run id, running only the replayed task, never more than --parallel
at once. moto's Lambda does not run our functions, so the test plays the verify function's one
effect the replay waits for (the run's end in the ledger) when an execution has succeeded."""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from chalicelib.contract import keys
from chalicelib.contract.schema import RunManifest
from chalicelib.replay import replay
from tests.aws.moto_world import World

pytestmark = pytest.mark.filterwarnings(
    "ignore:Exception in thread WaitForTaskToken_SyncTask:pytest.PytestUnhandledThreadExceptionWarning")

TASKS = ("embed", "classify")


@pytest.fixture
def world(moto_env: None, tmp_path: Path) -> Iterator[World]:
    w = World.create(task_names=TASKS, with_pipeline=True)
    tasks = [{"name": t, "kind": "text-classification", "model": "none", "model_version": "v1",
              "attempts": 1, "timeout_s": 600} for t in TASKS]
    with w.installed_runtime(tmp_path, tasks, chunk_size=5) as rt:
        w.rt = rt  # type: ignore[attr-defined]
        try:
            yield w
        finally:
            w.stop_all()


def _batch(n: int) -> bytes:
    lines = [json.dumps({"url": f"https://news.example/{n}/{i}", "title": f"Story {i}",
                         "body": "Northwind Holdings said revenue rose.", "language": "en"}) for i in range(7)]
    return gzip.compress(("\n".join(lines) + "\n").encode())


def test_replay_starts_the_pipeline_once_per_batch_with_only_the_replayed_task(world: World) -> None:
    rt = world.rt  # type: ignore[attr-defined]
    for n, day in enumerate(("2026-11-25", "2026-11-26", "2026-11-27")):
        rt.store.put(f"incoming/{day}/b{n}.jsonl.gz", _batch(n))  # no EventBridge route: no run starts
    sfn = world.client("stepfunctions")
    running_at_once: list[int] = []
    stop = threading.Event()

    def verify_function() -> None:
        # What the verify Lambda does for a run whose execution succeeded (moto runs none).
        while not stop.is_set():
            executions = sfn.list_executions(stateMachineArn=world.state_machine_arn)["executions"]
            running_at_once.append(sum(e["status"] == "RUNNING" for e in executions))
            for e in executions:
                run = rt.ledger.get_run(e["name"])
                if e["status"] == "SUCCEEDED" and run is not None and run.state == "RUNNING":
                    rt.ledger.update_run(run.run_id, state="SUCCEEDED", verdict="ok")
            time.sleep(0.05)

    world.queue_lambda_results(*[{"indexed": 7, "failed": 0},
                                 {"verdict": "ok", "report": "s3://x/report.json", "problems": []}] * 3)
    player = threading.Thread(target=verify_function, daemon=True)
    player.start()
    try:
        outcome = replay(rt, task="classify", model_version="v2", date_from=date(2026, 11, 25),
                         date_to=date(2026, 11, 27), parallel=1, poll_s=0.05)
    finally:
        stop.set()
        player.join()

    assert [i.status for i in outcome.items] == ["done"] * 3, [i.detail for i in outcome.items]
    names = [e["name"] for e in sfn.list_executions(stateMachineArn=world.state_machine_arn)["executions"]]
    assert sorted(names) == sorted(i.run_id for i in outcome.items)
    assert all(n.startswith("replay-classify-") for n in names)
    assert max(running_at_once) <= 1  # --parallel 1
    for item in outcome.items:
        arn = f"{world.state_machine_arn.replace(':stateMachine:', ':execution:')}:{item.run_id}"
        payload: dict[str, Any] = json.loads(sfn.describe_execution(executionArn=arn)["input"])
        assert [t["name"] for t in payload["tasks"]] == ["classify"]
        manifest = RunManifest.model_validate_json(rt.store.get(keys.manifest(item.run_id)))
        assert manifest.replay is not None and manifest.tasks[0].model_version == "v2"
