"""pipeline.asl.json on moto and on the local executor: the same states entered for the same job
outcomes, the same jobs submitted, the same error reaching Cleanup, the same number of alerts.

The local side is the real local workflow dispatcher (``LocalTaskDispatcher``) over a compute
that finishes jobs as moto's Docker-less Batch does, and Lambdas that answer as moto's do.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest

from chalicelib.alerts.base import Alert, AlertSink
from chalicelib.asl import Executor, states_entered
from chalicelib.compute.base import ACTIVE_STATES, Compute, JobRequest, JobStatus
from chalicelib.contract.schema import TaskConfig
from chalicelib.steps.ingest import execution_input
from chalicelib.workflow.local import LocalTaskDispatcher
from tests.aws.moto_world import World, mocked_aws, task_parameters
from tests.conformance.harness import same_states

pytestmark = pytest.mark.filterwarnings(
    "ignore:Exception in thread WaitForTaskToken_SyncTask:pytest.PytestUnhandledThreadExceptionWarning")

TASKS = TaskConfig.model_validate({"tasks": [
    {"name": "embed", "kind": "embedding", "model": "none", "attempts": 3, "timeout_s": 900},
    {"name": "classify", "kind": "text-classification", "model": "none", "attempts": 2, "timeout_s": 600}]})
INDEX_OK = {"indexed": 10, "failed": 0}
VERIFY_OK = {"verdict": "ok", "report": "s3://b/runs/r/report.json", "problems": []}
VERIFY_BAD = {"verdict": "failed", "report": "s3://b/runs/r/report.json", "problems": ["missing result x"]}


def cleanup_says(rid: str) -> dict[str, str]:
    return {"subject": f"newsops run FAILED: {rid}", "message": json.dumps({"run_id": rid})}


@dataclass(frozen=True)
class Scenario:
    id: str
    chunks: int
    lambdas: tuple[dict[str, Any], ...]  # what index/verify/cleanup answer, in call order
    jobs_fail: bool = False
    tasks: tuple[str, ...] = ("embed", "classify")
    missing_definition: bool = False
    status: str = "SUCCEEDED"
    cleanup_error: str | None = None


SCENARIOS = [
    Scenario("success-arrays", 3, (INDEX_OK, VERIFY_OK)),
    Scenario("success-single-chunk", 1, (INDEX_OK, VERIFY_OK)),
    Scenario("job-failed", 3, ("cleanup",), jobs_fail=True, tasks=("embed",), status="FAILED",
             cleanup_error="States.TaskFailed"),
    Scenario("verify-failed", 2, (INDEX_OK, VERIFY_BAD, "cleanup"), status="FAILED", cleanup_error="Verify.Failed"),
    Scenario("submission-rejected", 1, ("cleanup",), tasks=("embed",), missing_definition=True, status="FAILED",
             cleanup_error="Batch.ClientException"),
]


@dataclass
class MotoLikeCompute(Compute):
    """Jobs end as they are submitted, as in moto's Docker-less Batch (same env switch)."""

    definitions: set[str]
    submitted: list[JobRequest] = field(default_factory=list)
    jobs: dict[str, JobStatus] = field(default_factory=dict)

    def submit(self, request: JobRequest) -> str:
        if request.definition not in self.definitions:
            raise ValueError(f"Job definition {request.definition} does not exist")
        self.submitted.append(request)
        job_id = str(uuid.uuid4())
        status = "FAILED" if os.environ.get("MOTO_SIMPLE_BATCH_FAIL_AFTER") is not None else "SUCCEEDED"
        self.jobs[job_id] = JobStatus(job_id=job_id, name=request.name, status=status,  # type: ignore[arg-type]
                                      array_size=request.array_size)
        return job_id

    def describe(self, job_id: str) -> JobStatus:
        return self.jobs[job_id]

    def list_jobs(self, *, name_prefix: str = "", states: tuple[str, ...] = ACTIVE_STATES) -> list[JobStatus]:
        return [j for j in self.jobs.values() if j.name.startswith(name_prefix) and j.status in states]

    def terminate(self, job_id: str, reason: str) -> None:
        pass


class ListAlerts(AlertSink):
    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    def publish(self, alert: Alert) -> None:
        self.alerts.append(alert)


def _without_cause(call: tuple[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    name, payload = call
    if isinstance(payload.get("error"), dict):
        payload = {**payload, "error": {k: v for k, v in payload["error"].items() if k != "Cause"}}
    return name, payload


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with pytest.MonkeyPatch.context() as mp, mocked_aws(mp):
        w = World.create(task_names=("embed", "classify"), with_pipeline=True)
        try:
            yield w
        finally:
            w.stop_all()


def _payload(w: World, s: Scenario, rid: str) -> dict[str, Any]:
    tasks = TaskConfig(tasks=[t for t in TASKS.tasks if t.name in s.tasks])
    body = execution_input(SimpleNamespace(settings=w.settings(queue_wait_s=60), tasks=tasks),  # type: ignore[arg-type]
                           rid, s.chunks).model_dump()
    if s.missing_definition:
        for t in body["tasks"]:
            t["job_definition"] = "newsops-missing"
    return body


def _answers(s: Scenario, rid: str) -> list[dict[str, Any]]:
    return [cleanup_says(rid) if a == "cleanup" else a for a in s.lambdas]  # type: ignore[comparison-overlap]


@pytest.mark.parametrize("s", SCENARIOS, ids=[s.id for s in SCENARIOS])
def test_pipeline_enters_the_same_states_on_moto_and_locally(world: World, s: Scenario,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    if s.jobs_fail:
        monkeypatch.setenv("MOTO_SIMPLE_BATCH_FAIL_AFTER", "0")
    else:
        monkeypatch.delenv("MOTO_SIMPLE_BATCH_FAIL_AFTER", raising=False)
    rid = f"{s.id}-0123456789abcdef"
    payload = _payload(world, s, rid)
    definition = world.pipeline_definition()

    world.queue_lambda_results(*_answers(s, rid))
    described, events = world.run(world.state_machine_arn, payload, rid)
    moto_states = [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")]
    moto_alerts = world.alerts()

    answers = iter(_answers(s, rid))
    calls: list[tuple[str, dict[str, Any]]] = []

    def lambdas(name: str) -> Any:
        def handler(event: dict[str, Any], context: Any) -> Any:
            calls.append((name, event))
            return next(answers)
        return handler

    compute = MotoLikeCompute(definitions={"newsops-embed", "newsops-classify"})
    alerts = ListAlerts()
    result = Executor(definition, LocalTaskDispatcher(compute, lambdas, alerts), retry_interval_scale=0.0,
                      state_machine_name="pipeline").execute(payload, name=rid)
    local_states = states_entered(result.history)

    assert (result.status, described["status"]) == (s.status, s.status)
    assert same_states(local_states, moto_states, set(definition["States"])), (local_states, moto_states)
    # The same jobs, with the same array sizes, were submitted by both.
    moto_jobs = sorted((p["JobName"], (p.get("ArrayProperties") or {}).get("Size", 0))
                       for p in task_parameters(events, "batch"))
    local_jobs = sorted((r.name, r.array_size) for r in compute.submitted)
    assert local_jobs == (moto_jobs if not s.missing_definition else [])
    # The same Lambdas were called with the same payloads; an error's Cause is each engine's own
    # text (a job description, a service message), but both name the failed job the same way,
    # which is what the cleanup function reads the failed stage from.
    moto_calls = [(p["FunctionName"].rsplit(":", 1)[-1], p["Payload"]) for p in task_parameters(events, "lambda")]
    assert [_without_cause(c) for c in calls] == [_without_cause(c) for c in moto_calls]
    if s.cleanup_error:
        assert moto_calls[-1][1]["error"]["Error"] == calls[-1][1]["error"]["Error"] == s.cleanup_error
    if s.jobs_fail:
        for _, p in (moto_calls[-1], calls[-1]):
            assert json.loads(p["error"]["Cause"])["JobName"] == f"{rid}-embed"
    # Exactly one alert either way: the success note or the failure alert.
    assert len(moto_alerts) == len(alerts.alerts) == 1
    assert moto_alerts[0]["Subject"] == alerts.alerts[0].subject
