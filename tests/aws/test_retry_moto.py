"""Retrying a failed run on AWS, in moto: S3, DynamoDB, Step Functions executing the real
pipeline.asl.json, Batch. moto's Batch runs no container, so each array child the executions
submit is executed here with the real job entrypoint against the moto bucket, the way Batch
would run it (AWS_BATCH_JOB_ARRAY_INDEX, the job's environment)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from newsops_batch import entrypoint

from chalicelib.contract import keys
from chalicelib.contract.schema import RunManifest
from chalicelib.retry import missing_chunks, retry_run
from chalicelib.steps.ingest import ingest_object
from tests.aws.moto_world import World, task_parameters

pytestmark = pytest.mark.filterwarnings(
    "ignore:Exception in thread WaitForTaskToken_SyncTask:pytest.PytestUnhandledThreadExceptionWarning")

TASKS = ("embed", "classify")


class CountingRunner:
    def __init__(self) -> None:
        self.chunks: list[str] = []

    def run(self, articles: list[Any]) -> list[dict[str, Any]]:
        self.chunks.append(articles[0].id)
        return [{"label": "long" if len(a.body) > 60 else "short", "score": 1.0} for a in articles]


@pytest.fixture
def world(moto_env: None, tmp_path: Path) -> Iterator[World]:
    w = World.create(task_names=TASKS, with_pipeline=True)
    tasks = [{"name": t, "kind": "text-classification", "model": "none", "attempts": 1, "timeout_s": 600}
             for t in TASKS]
    with w.installed_runtime(tmp_path, tasks, chunk_size=5) as rt:
        w.rt = rt  # type: ignore[attr-defined]
        try:
            yield w
        finally:
            w.stop_all()


def _input() -> bytes:
    lines = [json.dumps({"url": f"https://news.example/a/{i}", "title": f"Story {i}",
                         "body": f"Northwind Holdings said revenue rose {i} percent." * (1 + i % 3),
                         "language": "en"}) for i in range(20)]
    return gzip.compress(("\n".join(lines) + "\n").encode())


def _run_child(rt: Any, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], index: int,
               runner: CountingRunner) -> None:
    with monkeypatch.context() as m:
        for k, v in env.items():
            m.setenv(k, v)
        m.setenv("AWS_BATCH_JOB_ARRAY_INDEX", str(index))
        assert entrypoint.main([], store=rt.store, runner=runner) == 0


def _env(params: dict[str, Any]) -> dict[str, str]:
    return {e.get("Name", e.get("name")): e.get("Value", e.get("value"))
            for e in params["ContainerOverrides"]["Environment"]}


def _batch_jobs(w: World, execution_arn: str) -> dict[str, dict[str, Any]]:
    """task -> the SubmitJob parameters an execution scheduled."""
    return {_env(p)["NEWSOPS_TASK"]: p for p in task_parameters(w.history(execution_arn), "batch")}


def test_a_failed_run_retried_on_aws_reruns_only_its_missing_chunks(world: World,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    rt = world.rt  # type: ignore[attr-defined]
    sfn = world.client("stepfunctions")
    key = "incoming/2026-11-27/batch.jsonl.gz"
    info = rt.store.put(key, _input())
    # Attempt 1: every Batch job fails; the failure path runs (cleanup's answer is queued).
    monkeypatch.setenv("MOTO_SIMPLE_BATCH_FAIL_AFTER", "0")
    world.queue_lambda_results({"subject": "newsops run FAILED at task embed", "message": "{}"})
    outcome = ingest_object(key, info.etag, rt, size=info.size)
    rid = outcome.run_id
    assert outcome.status == "started" and outcome.chunks == 4
    first = world.wait(f"{world.state_machine_arn.replace(':stateMachine:', ':execution:')}:{rid}")
    assert first["status"] == "FAILED"
    # Before it failed, some children had finished: chunks 0 and 2 of embed, all of classify but 3.
    before = CountingRunner()
    for task, done in (("embed", [0, 2]), ("classify", [0, 1, 2])):
        for n in done:
            _run_child(rt, monkeypatch, {"NEWSOPS_RUN_ID": rid, "NEWSOPS_TASK": task}, n, before)
    manifest = RunManifest.model_validate_json(rt.store.get(keys.manifest(rid)))
    assert missing_chunks(rt, manifest) == {"embed": [1, 3], "classify": [3]}

    # Attempt 2: a new execution <run id>-r1, its arrays over the missing chunks only.
    monkeypatch.delenv("MOTO_SIMPLE_BATCH_FAIL_AFTER")
    world.queue_lambda_results({"indexed": 20, "failed": 0},
                               {"verdict": "ok", "report": "s3://x/report.json", "problems": []})
    retried = retry_run(rid, rt)
    assert retried.execution == f"{rid}-r1" and retried.rerun == {"embed": [1, 3], "classify": [3]}
    arn = f"{world.state_machine_arn.replace(':stateMachine:', ':execution:')}:{rid}-r1"
    assert world.wait(arn)["status"] == "SUCCEEDED"
    submitted = _batch_jobs(world, arn)
    envs = {t: _env(p) for t, p in submitted.items()}
    assert submitted["embed"]["ArrayProperties"]["Size"] == 2
    assert "ArrayProperties" not in submitted["classify"]  # one chunk: a plain job, index 0
    assert envs["embed"]["NEWSOPS_CHUNK_PLAN"] == keys.chunk_plan(rid, 2, "embed")

    # What Batch runs for those jobs: 2 + 1 chunk executions, no more.
    again = CountingRunner()
    for task, size in (("embed", 2), ("classify", 1)):
        for i in range(size):
            _run_child(rt, monkeypatch, envs[task], i, again)
    assert len(again.chunks) == 3
    assert missing_chunks(rt, manifest) == {"embed": [], "classify": []}

    # The results equal an uninterrupted run of the same bytes (another object, another run id).
    other = "incoming/2026-11-27/again.jsonl.gz"
    other_info = rt.store.put(other, _input())
    world.queue_lambda_results({"indexed": 20, "failed": 0},
                               {"verdict": "ok", "report": "s3://x/report.json", "problems": []})
    clean = ingest_object(other, other_info.etag, rt, size=other_info.size).run_id
    whole = CountingRunner()
    for task in TASKS:
        for n in range(4):
            _run_child(rt, monkeypatch, {"NEWSOPS_RUN_ID": clean, "NEWSOPS_TASK": task}, n, whole)
    for task in TASKS:
        for n in range(4):
            assert rt.store.get(keys.result(rid, task, n)) == rt.store.get(keys.result(clean, task, n))

    # DynamoDB keeps both attempts; both executions stay in Step Functions' history.
    run = rt.ledger.get_run(rid)
    assert run.attempt == 2 and run.execution == f"{rid}-r1"
    assert [a["attempt"] for a in run.detail["attempts"]] == [1]
    assert run.detail["attempts"][0]["execution_status"] == "FAILED"
    names = {e["name"] for e in sfn.list_executions(stateMachineArn=world.state_machine_arn)["executions"]}
    assert {rid, f"{rid}-r1"} <= names
