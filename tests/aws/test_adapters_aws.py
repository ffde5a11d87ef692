"""DynamoDB ledger, SNS alerts, Batch compute, Step Functions workflow, cleanup and the factory, on moto."""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import pytest

from chalicelib.alerts.base import Alert
from chalicelib.alerts.sns import SnsAlertSink, sns_subject
from chalicelib.compute.base import ExitRule, JobRequest
from chalicelib.compute.batch import BatchCompute
from chalicelib.factory import AWS_SEARCH_LOCAL_NOTE, build_runtime, build_store
from chalicelib.ledger.base import RunRecord
from chalicelib.ledger.dynamodb import DynamoDBLedger
from chalicelib.runtime import Runtime
from chalicelib.workflow.stepfunctions import StepFunctionsWorkflow, execution_arn
from tests.aws.moto_world import World, hold_running, moto_job


# -- DynamoDB ledger -------------------------------------------------------------------------
def _at_once(call: Any, n: int = 8) -> list[bool]:
    """``call()`` from n threads released together: the results of a race."""
    results: list[bool] = []
    barrier = threading.Barrier(n)

    def one() -> None:
        barrier.wait()
        results.append(call())

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_claim_is_conditional_even_under_concurrency(world: World) -> None:
    ledger = DynamoDBLedger(world.runs_table, world.state_table, world.client("dynamodb"))
    results = _at_once(lambda: ledger.claim_run(RunRecord(run_id="b-1", input_key="incoming/x", etag="e")))
    assert sorted(results) == [False] * 7 + [True]


def test_a_stale_unstarted_claim_is_taken_over_by_one_taker(world: World) -> None:
    ledger = DynamoDBLedger(world.runs_table, world.state_table, world.client("dynamodb"))
    ledger.claim_run(RunRecord(run_id="old", input_key="incoming/x", etag="e", created=100.0, updated=100.0))
    ledger.claim_run(RunRecord(run_id="young", input_key="incoming/x", etag="e", created=900.0, updated=900.0))
    results = _at_once(lambda: ledger.take_over_claim("old", claimed_before=500.0))
    assert sorted(results) == [False] * 7 + [True]
    assert ledger.get_run("old").updated > 500.0
    assert ledger.take_over_claim("young", claimed_before=500.0) is False
    ledger.update_run("young", state="RUNNING")
    assert ledger.take_over_claim("young", claimed_before=10.0**12) is False
    assert ledger.take_over_claim("unknown", claimed_before=10.0**12) is False


def test_a_released_claim_is_free_at_once_and_a_finished_run_is_never_released(world: World) -> None:
    ledger = DynamoDBLedger(world.runs_table, world.state_table, world.client("dynamodb"))
    for rid, state in (("claimed", None), ("running", "RUNNING"), ("done", "SUCCEEDED")):
        ledger.claim_run(RunRecord(run_id=rid, input_key="incoming/x", etag="e"))
        if state:
            ledger.update_run(rid, state=state)
    assert ledger.take_over_claim("claimed", claimed_before=1.0) is False
    assert ledger.release_claim("claimed") and ledger.release_claim("running")
    assert ledger.get_run("running").state == "CLAIMED"
    assert ledger.take_over_claim("running", claimed_before=1.0) is True
    assert ledger.release_claim("done") is False and ledger.get_run("done").state == "SUCCEEDED"
    assert ledger.release_claim("unknown") is False


def test_update_merges_detail_atomically_and_keeps_types(world: World) -> None:
    ledger = DynamoDBLedger(world.runs_table, world.state_table, world.client("dynamodb"))
    ledger.claim_run(RunRecord(run_id="r", input_key="incoming/x", etag="e", detail={"a": 1}))
    rec = ledger.update_run("r", state="RUNNING", detail={"t": 1.25, "counts": {"valid": 3}, "tasks": ["x"]})
    assert rec.state == "RUNNING"
    assert rec.detail == {"a": 1, "t": 1.25, "counts": {"valid": 3}, "tasks": ["x"]}
    rec = ledger.update_run("r", state="FAILED", verdict="failed", ended=123.5, detail={"a": 2})
    assert (rec.verdict, rec.ended, rec.detail["a"]) == ("failed", 123.5, 2)
    assert ledger.update_run("r", verdict=None).verdict is None
    with pytest.raises(KeyError):
        ledger.update_run("nope", state="FAILED")
    with pytest.raises(ValueError):
        ledger.update_run("r", colour="blue")


# -- SNS -------------------------------------------------------------------------------------
def test_sns_alert_reaches_a_subscriber_with_attributes(world: World) -> None:
    sink = SnsAlertSink(world.topic_arn, world.client("sns"))
    sink.publish(Alert(subject="newsops run FAILED at task embed: r1 — ünïcode", severity="error",
                       reason="3 chunks missing", run_id="r1", stage="task embed",
                       counts={"missing": 3}, look_at=["s3://b/runs/r1/report.json"]))
    [msg] = world.alerts()
    assert msg["Subject"] == "newsops run FAILED at task embed: r1 ? ?n?code"
    body = json.loads(msg["Message"])
    assert body["reason"] == "3 chunks missing" and body["counts"] == {"missing": 3}
    assert msg["MessageAttributes"]["severity"]["Value"] == "error"
    assert msg["MessageAttributes"]["run_id"]["Value"] == "r1"


def test_sns_subject_limits() -> None:
    assert len(sns_subject("x" * 300)) == 100
    assert sns_subject("a\nb\tc") == "a b c"
    assert sns_subject("   ") == "newsops alert"


# -- Batch -----------------------------------------------------------------------------------
def _request(job_name: str, **over: Any) -> JobRequest:
    base: dict[str, Any] = {"name": job_name, "queue": "", "definition": "newsops-fake", "array_size": 3,
                            "environment": {"NEWSOPS_RUN_ID": "r1", "NEWSOPS_TASK": "fake"},
                            "attempts": 2, "timeout_s": 600, "tags": {"newsops-run-id": "r1"},
                            "exit_rules": [ExitRule("EXIT", on_exit_code="65")]}
    return JobRequest(**{**base, **over})


def test_batch_submit_describe_and_validation(world: World) -> None:
    compute = BatchCompute(world.queue_arn, world.client("batch"))
    job_id = compute.submit(_request("r1-fake"))
    status = compute.describe(job_id)
    assert (status.name, status.status, status.array_size) == ("r1-fake", "SUCCEEDED", 3)
    assert status.tags == {"newsops-run-id": "r1"}
    [job] = world.client("batch").describe_jobs(jobs=[job_id])["jobs"]
    env = {e["name"]: e["value"] for e in job["container"]["environment"]}
    assert env["NEWSOPS_RUN_ID"] == "r1" and env["NEWSOPS_TASK"] == "fake"
    assert job["jobQueue"] == world.queue_arn and job["timeout"] == {"attemptDurationSeconds": 600}
    for bad in ({"array_size": 1}, {"attempts": 11}, {"timeout_s": 30}, {"name": "bad name"},
                {"environment": {"X": "y" * 9000}}):
        with pytest.raises(ValueError):
            compute.submit(_request("r1-fake", **bad))
    with pytest.raises(KeyError):
        compute.describe("00000000-0000-0000-0000-000000000000")


def test_failed_job_is_reported_failed(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTO_SIMPLE_BATCH_FAIL_AFTER", "0")
    compute = BatchCompute(world.queue_arn, world.client("batch"))
    status = compute.wait(compute.submit(_request("r2-fake", array_size=0)), poll_s=0.01)
    assert status.status == "FAILED" and status.done


def test_cleanup_terminates_only_the_runs_active_jobs(world: World) -> None:
    from chalicelib.steps.cleanup import stop_run_jobs

    compute = BatchCompute(world.queue_arn, world.client("batch"))
    active_a = compute.submit(_request("r1-fake"))
    active_b = compute.submit(_request("r1-other", array_size=0))
    finished = compute.submit(_request("r1-done", array_size=0))
    other_run = compute.submit(_request("r10-fake", array_size=0))
    for job_id in (active_a, active_b, other_run):
        hold_running(job_id)
    listed = {j.job_id for j in compute.list_jobs(name_prefix="r1-")}
    assert listed == {active_a, active_b}  # not the finished job, nor run r10, nor array children
    assert {j.job_id for j in compute.list_jobs()} >= {active_a, active_b, other_run}

    rt = Runtime(settings=world.settings(), store=None, ledger=None, alerts=None,  # type: ignore[arg-type]
                 compute=compute, workflow=None, search=None, tasks=None)  # type: ignore[arg-type]
    stopped = stop_run_jobs("r1", rt, "run r1 failed: States.TaskFailed")
    assert sorted(stopped) == sorted([active_a, active_b])
    assert moto_job(active_a).stop and moto_job(active_b).stop
    assert moto_job(active_a).job_stopped_reason == "run r1 failed: States.TaskFailed"
    assert not moto_job(other_run).stop and not moto_job(finished).stop


# -- Step Functions --------------------------------------------------------------------------
def test_execution_named_by_run_id_starts_once(world: World) -> None:
    trivial = {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 30, "End": True}}}
    arn = world.create_state_machine(trivial, "trivial")
    wf = StepFunctionsWorkflow(arn, world.client("stepfunctions"))
    first = wf.start("run-1", {"run_id": "run-1"})
    assert first.status == "RUNNING" and first.started
    assert wf.start("run-1", {"run_id": "run-1"}).status == "RUNNING"  # same input: idempotent
    assert wf.start("run-1", {"run_id": "run-1", "other": 1}).name == "run-1"  # ExecutionAlreadyExists
    assert [e.name for e in wf.list_executions()] == ["run-1"]
    assert wf.describe("run-2") is None
    wf.stop("run-1", cause="test over")
    world.wait(execution_arn(arn, "run-1"))
    done = wf.describe("run-1")
    assert done is not None and done.status == "ABORTED"
    assert wf.start("run-1", {"run_id": "run-1"}).status == "ABORTED"  # a closed name stays closed
    with pytest.raises(ValueError, match="262144"):
        wf.start("run-big", {"blob": "x" * 300_000})


def test_describe_reports_output_and_states_entered(world: World) -> None:
    machine = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": {"n": 1}, "Next": "B"},
                                          "B": {"Type": "Succeed"}}}
    wf = StepFunctionsWorkflow(world.create_state_machine(machine, "two"), world.client("stepfunctions"))
    wf.start("r", {})
    world.wait(execution_arn(wf.state_machine_arn, "r"))
    execution = wf.describe("r")
    assert execution is not None
    assert (execution.status, execution.output, execution.states_entered) == ("SUCCEEDED", {"n": 1}, ["A", "B"])


def test_execution_arn() -> None:
    assert execution_arn("arn:aws:states:eu-west-1:1:stateMachine:p", "r") == "arn:aws:states:eu-west-1:1:execution:p:r"
    with pytest.raises(ValueError):
        execution_arn("arn:aws:lambda:eu-west-1:1:function:f", "r")


# -- factory ---------------------------------------------------------------------------------
def test_aws_backend_selects_every_aws_adapter_and_says_search_is_local(
        pipeline_world: World, tmp_path, caplog: pytest.LogCaptureFixture) -> None:
    from chalicelib.alerts.sns import SnsAlertSink
    from chalicelib.search.local import LocalSearchIndex
    from chalicelib.store.s3 import S3ObjectStore

    world = pipeline_world
    settings = world.settings(home=tmp_path / "home")
    with caplog.at_level(logging.WARNING, logger="newsops.factory"):
        rt = build_runtime(settings)
    assert isinstance(rt.store, S3ObjectStore) and rt.store.bucket == world.bucket
    assert isinstance(rt.ledger, DynamoDBLedger)
    assert isinstance(rt.alerts, SnsAlertSink)
    assert isinstance(rt.compute, BatchCompute)
    assert isinstance(rt.workflow, StepFunctionsWorkflow)
    assert isinstance(rt.search, LocalSearchIndex)
    expected = AWS_SEARCH_LOCAL_NOTE.format(path=(tmp_path / "home" / "search.sqlite3").resolve())
    assert expected in caplog.text
    assert isinstance(build_store(settings), S3ObjectStore)


def test_aws_backend_refuses_missing_resource_names(tmp_path) -> None:
    from chalicelib.settings import Settings

    with pytest.raises(ValueError, match="NEWSOPS_BUCKET"):
        build_store(Settings(backend="aws", home=tmp_path))


def test_start_of_an_existing_execution_without_describe_permission() -> None:
    from botocore.exceptions import ClientError

    class Denied:
        def start_execution(self, **kwargs: Any) -> dict[str, Any]:
            raise ClientError({"Error": {"Code": "ExecutionAlreadyExists", "Message": "exists"}}, "StartExecution")

        def describe_execution(self, **kwargs: Any) -> dict[str, Any]:
            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "DescribeExecution")

    wf = StepFunctionsWorkflow("arn:aws:states:us-east-1:1:stateMachine:p", Denied())
    execution = wf.start("r", {})
    assert execution.name == "r" and "AccessDeniedException" in (execution.cause or "")
