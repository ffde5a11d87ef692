"""Ingest on AWS: an object put into a moto bucket -> EventBridge -> the ingest handler -> S3 + one execution."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.contract import keys
from chalicelib.contract.schema import RunManifest
from chalicelib.schema import ExecutionInput
from tests.aws.moto_world import World, mocked_aws


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[World]:
    # Executions are only started here, not run: the run itself is tested in test_pipeline_moto.
    with mocked_aws(monkeypatch, execute=False):
        w = World.create(task_names=("embed", "classify"), with_pipeline=True)
        tasks = [{"name": "embed", "kind": "embedding", "model": "none", "attempts": 2, "timeout_s": 600},
                 {"name": "classify", "kind": "text-classification", "model": "none", "timeout_s": 600}]
        with w.installed_runtime(tmp_path, tasks, chunk_size=40):
            yield w


def _input(n: int, bad: int = 0) -> bytes:
    lines = [json.dumps({"url": f"https://news.example/a/{i}", "title": f"Story {i}",
                         "body": f"Northwind Holdings said revenue rose {i} percent.",
                         "language": "en"}) for i in range(n)]
    lines += [json.dumps({"url": f"https://news.example/bad/{i}", "title": ""}) for i in range(bad)]
    return gzip.compress(("\n".join(lines) + "\n").encode())


def _route_s3_events_to_a_queue(w: World) -> str:
    """S3 -> EventBridge (rule = the app's own pattern) -> SQS, so the test sees moto's real event."""
    import app

    sqs, events = w.client("sqs"), w.client("events")
    url = sqs.create_queue(QueueName="ingest-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    w.client("s3").put_bucket_notification_configuration(
        Bucket=w.bucket, NotificationConfiguration={"EventBridgeConfiguration": {}})
    events.put_rule(Name="newsops-ingest", EventPattern=json.dumps(app.S3_OBJECT_CREATED_UNDER_INCOMING))
    events.put_targets(Rule="newsops-ingest", Targets=[{"Id": "inbox", "Arn": arn}])
    return url


def _received(w: World, url: str) -> list[dict[str, Any]]:
    msgs = w.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in msgs]


def _invoke(event: dict[str, Any]) -> dict[str, Any]:
    """One delivery through Chalice's test client, as the Lambda runtime would call the function."""
    import app

    with Client(app.app) as client:
        return client.lambda_.invoke("ingest", event).payload


def _invoke_direct(event: dict[str, Any]) -> dict[str, Any]:
    """The same registered handler, for concurrent deliveries: Chalice's test client swaps
    ``os.environ`` per call and is not safe to use from several threads at once."""
    import app

    return app.on_object_created(event, None)


def _executions(w: World) -> list[dict[str, Any]]:
    return w.client("stepfunctions").list_executions(stateMachineArn=w.state_machine_arn)["executions"]


def _runs_tree(w: World, rid: str) -> dict[str, str]:
    objs = w.client("s3").list_objects_v2(Bucket=w.bucket, Prefix=keys.run_prefix(rid)).get("Contents", [])
    return {o["Key"]: o["ETag"] for o in objs}


def test_object_created_event_ingests_to_s3_and_starts_one_execution(world: World) -> None:
    w = world
    inbox = _route_s3_events_to_a_queue(w)
    key = "incoming/2026-11-27/batch-0001.jsonl.gz"
    w.client("s3").put_object(Bucket=w.bucket, Key=key, Body=_input(100, bad=3))
    w.client("s3").put_object(Bucket=w.bucket, Key="raw/2026/11/27/x.html.gz", Body=b"<html/>")
    [event] = _received(w, inbox)  # the rule let only the incoming/ object through
    assert event["source"] == "aws.s3" and event["detail"]["object"]["key"] == key

    result = _invoke(event)
    head = w.client("s3").head_object(Bucket=w.bucket, Key=key)
    rid = keys.run_id(key, head["ETag"])
    assert result == {"run_id": rid, "status": "started", "reason": ""}

    manifest = RunManifest.model_validate_json(
        w.client("s3").get_object(Bucket=w.bucket, Key=keys.manifest(rid))["Body"].read())
    assert manifest.articles == {"input": 103, "valid": 100, "quarantined": 3}
    assert manifest.input.uri == f"s3://{w.bucket}/{key}" and manifest.input.etag == head["ETag"].strip('"')
    assert [c.records for c in manifest.chunks] == [40, 40, 20]
    tree = _runs_tree(w, rid)
    assert {keys.chunk(rid, n) for n in range(3)} | {keys.manifest(rid), keys.ingest_quarantine(rid)} == set(tree)

    [execution] = _executions(w)
    assert execution["name"] == rid
    described = w.client("stepfunctions").describe_execution(executionArn=execution["executionArn"])
    payload = ExecutionInput.model_validate_json(described["input"])
    assert payload.chunks == 3 and [t.job_name for t in payload.tasks] == [f"{rid}-embed", f"{rid}-classify"]
    assert [t.array_size for t in payload.tasks] == [3, 3]

    from chalicelib.ledger.dynamodb import DynamoDBLedger

    run = DynamoDBLedger(w.runs_table, w.state_table, w.client("dynamodb")).get_run(rid)
    assert run is not None and run.state == "RUNNING" and run.detail["chunks"] == 3

    # The same event again, once and then twice at the same moment: nothing changes.
    assert _invoke(event)["status"] == "duplicate"
    outcomes: list[str] = []
    threads = [threading.Thread(target=lambda: outcomes.append(_invoke_direct(event)["status"]))
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes == ["duplicate", "duplicate"]
    assert _runs_tree(w, rid) == tree
    assert [e["name"] for e in _executions(w)] == [rid]


def test_concurrent_first_deliveries_start_exactly_one_execution(world: World) -> None:
    w = world
    inbox = _route_s3_events_to_a_queue(w)
    w.client("s3").put_object(Bucket=w.bucket, Key="incoming/2026-11-27/twice.jsonl.gz", Body=_input(10))
    [event] = _received(w, inbox)
    outcomes: list[str] = []
    barrier = threading.Barrier(3)

    def deliver() -> None:
        barrier.wait()
        outcomes.append(_invoke_direct(event)["status"])

    threads = [threading.Thread(target=deliver) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["duplicate", "duplicate", "started"]
    assert len(_executions(w)) == 1


def test_rejected_input_alerts_through_sns_and_starts_nothing(world: World) -> None:
    w = world
    inbox = _route_s3_events_to_a_queue(w)
    w.client("s3").put_object(Bucket=w.bucket, Key="incoming/2026-11-27/notgzip.jsonl.gz", Body=b"hello")
    [event] = _received(w, inbox)
    assert _invoke(event)["status"] == "rejected"
    assert _executions(w) == []
    [alert] = w.alerts()
    assert alert["Subject"].startswith("newsops input rejected")
    rejected = w.client("s3").list_objects_v2(Bucket=w.bucket, Prefix="rejected/")["Contents"]
    assert [o["Key"].rsplit("/", 1)[-1] for o in rejected] == ["notgzip.jsonl.gz"]


def test_cleanup_handler_on_aws_stops_jobs_records_failure_and_composes_alert(world: World) -> None:
    """The Cleanup Lambda's handler with the AWS runtime: Batch, S3 and DynamoDB in moto."""
    import app
    from chalicelib.compute.base import JobRequest
    from chalicelib.runtime import get_runtime
    from chalicelib.store.events import object_created_event
    from tests.aws.moto_world import hold_running, moto_job

    w = world
    key = "incoming/2026-11-27/cleanup.jsonl.gz"
    w.client("s3").put_object(Bucket=w.bucket, Key=key, Body=_input(50))
    rt = get_runtime()
    info = rt.store.head(key)
    assert info is not None
    rid = keys.run_id(key, info.etag)
    assert app.on_object_created(object_created_event(w.bucket, info), None)["status"] == "started"

    running = rt.compute.submit(JobRequest(name=f"{rid}-embed", queue="", definition="newsops-embed",
                                           array_size=2, tags={"newsops-run-id": rid}))
    hold_running(running)
    error = {"Error": "States.TaskFailed",
             "Cause": json.dumps({"JobName": f"{rid}-classify", "Status": "FAILED",
                                  "StatusReason": "Essential container in task exited"})}
    result = app.cleanup({"run_id": rid, "error": error}, None)

    assert result["subject"] == f"newsops run FAILED at task classify: {rid}"
    message = json.loads(result["message"])
    assert message["counts"]["jobs_stopped"] == 1 and message["run_id"] == rid
    assert moto_job(running).stop
    report = json.loads(w.client("s3").get_object(Bucket=w.bucket, Key=keys.report(rid))["Body"].read())
    assert report["verdict"] == "failed" and report["error"]["Error"] == "States.TaskFailed"
    run = rt.ledger.get_run(rid)
    assert run is not None and run.state == "FAILED"
