"""statemachine/pipeline.asl.json EXECUTED by moto's Step Functions, with Batch, Lambda and SNS in moto.

The definition is filled in by ``chalicelib.workflow.definition.load``, the substitution the
deployment uses; the execution input is what ingest builds (``ingest.execution_input``).
moto's Lambda answers with queued payloads: the handlers themselves are tested elsewhere.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from chalicelib.contract.schema import TaskConfig
from chalicelib.steps.ingest import execution_input
from tests.aws.moto_world import World, history_states, task_parameters

# moto runs a token-wait thread beside every Batch .sync task; when the task ends early (a
# timeout, a failed sibling in a Map) that thread reads its timeout from an unwound stack and
# dies with a TypeError. It changes no outcome; it is moto's noise, not ours.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Exception in thread WaitForTaskToken_SyncTask:pytest.PytestUnhandledThreadExceptionWarning")


TASKS = ("embed", "classify")


@pytest.fixture
def world(moto_env: None) -> Any:
    w = World.create(task_names=TASKS, with_pipeline=True)
    try:
        yield w
    finally:
        w.stop_all()


def payload(w: World, rid: str, chunks: int) -> dict[str, Any]:
    tasks = TaskConfig.model_validate({"tasks": [
        {"name": "embed", "kind": "embedding", "model": "none", "attempts": 3, "timeout_s": 900},
        {"name": "classify", "kind": "text-classification", "model": "none", "attempts": 2, "timeout_s": 600}]})
    rt = SimpleNamespace(settings=w.settings(queue_wait_s=120), tasks=tasks)
    return execution_input(rt, rid, chunks).model_dump()  # type: ignore[arg-type]


INDEX_OK = {"indexed": 120, "failed": 0}
VERIFY_OK = {"verdict": "ok", "report": "s3://newsops-test-data/runs/r/report.json", "problems": []}


@pytest.mark.parametrize("chunks", [3, 1], ids=["array-jobs", "single-chunk"])
def test_success_path_submits_every_task_and_notifies(world: World, chunks: int) -> None:
    rid = f"batch-{chunks}-0123456789abcdef"
    world.queue_lambda_results(INDEX_OK, VERIFY_OK)
    described, events = world.run(world.state_machine_arn, payload(world, rid, chunks), rid)
    assert described["status"] == "SUCCEEDED", described

    jobs = {j["jobName"]: j for j in world.jobs()}
    assert set(jobs) == {f"{rid}-embed", f"{rid}-classify"}
    definitions = {d["jobDefinitionName"]: d["jobDefinitionArn"] for d in
                   world.client("batch").describe_job_definitions()["jobDefinitions"]}
    for task in TASKS:
        job = jobs[f"{rid}-{task}"]
        assert job["status"] == "SUCCEEDED"
        assert job["jobQueue"] == world.queue_arn
        assert job["jobDefinition"] == definitions[f"newsops-{task}"]
        if chunks > 1:
            assert job["arrayProperties"]["size"] == chunks
        else:
            assert "arrayProperties" not in job  # Batch refuses an array of one
        env = {e["name"]: e["value"] for e in job["container"]["environment"]}
        assert env["NEWSOPS_RUN_ID"] == rid and env["NEWSOPS_TASK"] == task
        assert env["MANAGED_BY_AWS"] == "STARTED_BY_STEP_FUNCTIONS"
        assert job["tags"] == {"newsops-run-id": rid, "newsops-task": task,
                               "newsops-job-definition": f"newsops-{task}"}
        assert job["timeout"]["attemptDurationSeconds"] == {"embed": 900, "classify": 600}[task]

    submitted = {p["JobName"]: p for p in task_parameters(events, "batch")}
    # The job definitions own the retry strategy (chalicelib/compute/retry_policy.py): one
    # passed at submission would replace theirs, out-of-memory rule included.
    assert set(submitted) == {f"{rid}-embed", f"{rid}-classify"}
    assert not any("RetryStrategy" in p for p in submitted.values())
    timeouts = {e["taskScheduledEventDetails"].get("timeoutInSeconds") for e in events
                if e["type"] == "TaskScheduled" and e["taskScheduledEventDetails"]["resourceType"] == "batch"}
    # TimeoutSecondsPath, honoured by moto: one bound for the run's jobs, its waves of children
    # (2 at once by default) x the longest child (3 x 900 s) + the queue allowance.
    waves = -(-2 * chunks // 2)
    assert timeouts == {waves * 3 * 900 + 120}

    lambdas = task_parameters(events, "lambda")
    assert [p["FunctionName"] for p in lambdas] == [world.lambda_arns["index"], world.lambda_arns["verify"]]
    assert lambdas[0]["Payload"] == {"run_id": rid, "manifest": f"runs/{rid}/manifest.json",
                                     "first": 0, "last": chunks - 1}  # one index slice
    assert lambdas[1]["Payload"] == {"run_id": rid, "manifest": f"runs/{rid}/manifest.json"}

    [alert] = world.alerts()
    assert alert["Subject"] == f"newsops run ok: {rid}"
    assert json.loads(alert["Message"]) == VERIFY_OK

    output = json.loads(described["output"])
    assert sorted(j["JobName"] for j in output["jobs"]) == sorted(jobs)
    assert {j["Status"] for j in output["jobs"]} == {"SUCCEEDED"}
    assert output["index"] == [INDEX_OK] and output["verify"] == VERIFY_OK
    assert history_states(events)[-3:] == ["Verify", "Verdict", "NotifySuccess"]


def test_failing_job_runs_cleanup_and_sends_exactly_one_alert(world: World,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTO_SIMPLE_BATCH_FAIL_AFTER", "0")  # moto's Batch: every job FAILED
    rid = "batch-fail-0123456789abcdef"
    message = {"run_id": rid, "stage": "task embed", "reason": "States.TaskFailed: 3 of 3 children failed"}
    world.queue_lambda_results({"subject": f"newsops run FAILED at task embed: {rid}",
                                "message": json.dumps(message)})
    described, events = world.run(world.state_machine_arn, payload(world, rid, 3), rid)

    assert described["status"] == "FAILED"
    assert described["error"] == "newsops.RunFailed"
    states = history_states(events)
    assert "Index" not in states and "Verify" not in states
    assert states[-3:] == ["Cleanup", "NotifyFailure", "RunFailed"]
    # Retry covers submission errors only: the failed job was submitted once, not retried.
    submitted = [p["JobName"] for p in task_parameters(events, "batch")]
    assert len(submitted) == len(set(submitted))
    # The Map's Catch saw the task's own error name (moto patch 2) and the job description.
    [cleanup] = task_parameters(events, "lambda")
    assert cleanup["FunctionName"] == world.lambda_arns["cleanup"]
    assert cleanup["Payload"]["run_id"] == rid
    assert cleanup["Payload"]["error"]["Error"] == "States.TaskFailed"
    cause = json.loads(cleanup["Payload"]["error"]["Cause"])
    assert cause["JobName"].startswith(f"{rid}-") and cause["Status"] == "FAILED"

    alerts = world.alerts()
    assert len(alerts) == 1
    assert alerts[0]["Subject"] == f"newsops run FAILED at task embed: {rid}"
    assert json.loads(alerts[0]["Message"]) == message


def test_rejected_submission_is_caught_not_retried(world: World) -> None:
    """A job definition that does not exist: Batch.ClientException is no submission error to retry."""
    rid = "batch-nodef-0123456789abcdef"
    body = payload(world, rid, 1)
    body["tasks"] = body["tasks"][:1]
    body["tasks"][0]["job_definition"] = "newsops-missing"
    world.queue_lambda_results({"subject": f"newsops run FAILED: {rid}", "message": "{}"})
    described, events = world.run(world.state_machine_arn, body, rid)
    assert described["status"] == "FAILED"
    failed = [e["taskFailedEventDetails"]["error"] for e in events if e["type"] == "TaskFailed"]
    assert failed == ["Batch.ClientException"]
    [cleanup] = task_parameters(events, "lambda")
    assert cleanup["Payload"]["error"]["Error"] == "Batch.ClientException"
    assert len(world.alerts()) == 1
