"""statemachine/train.asl.json EXECUTED by moto's Step Functions, with Batch and SNS in moto.

Started as ``newsops train --backend aws`` starts it: ``chalicelib.training.start_training`` on
an AWS runtime (request written to S3, execution named by the train id), the definition filled in
by ``chalicelib.workflow.definition.load`` as the pipeline's is. moto's Docker-less Batch ends each
job as it is submitted (SUCCEEDED, or FAILED with MOTO_SIMPLE_BATCH_FAIL_AFTER=0): the steps'
code is tested locally (tests/test_training_local.py); here, what the state machine submits.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from chalicelib.contract import keys
from chalicelib.contract.schema import TaskConfig, TrainRequest
from chalicelib.store.s3 import S3ObjectStore
from chalicelib.training import start_training
from chalicelib.workflow.stepfunctions import execution_arn
from tests.aws.moto_world import World, history_states, task_parameters

# The same moto noise as in test_pipeline_moto.py: a .sync task's token-wait thread outliving it.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Exception in thread WaitForTaskToken_SyncTask:pytest.PytestUnhandledThreadExceptionWarning")

STEPS = ("train", "evaluate", "register")
TASK = "companies"


@pytest.fixture
def world(moto_env: None) -> Iterator[World]:
    w = World.create(task_names=(TASK,))
    w.add_training()
    try:
        yield w
    finally:
        w.stop_all()


def runtime(w: World, *, gpu: int = 1) -> Any:
    """What start_training uses of an AWS runtime: settings, the S3 store, the task config."""
    tasks = TaskConfig.model_validate({"tasks": [
        {"name": TASK, "kind": "char-ner", "model": f"registry:{TASK}", "gpu": gpu}]})
    return SimpleNamespace(settings=w.settings(job_attempts=2, train_timeout_s=5400, queue_wait_s=300),
                           store=S3ObjectStore(w.bucket, w.client("s3")), tasks=tasks)


def request(train_id: str) -> TrainRequest:
    return TrainRequest(train_id=train_id, task=TASK, data_key=f"training/{train_id}/data/ner.jsonl",
                        dev_fraction=0.2, epochs=1, created=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))


def run(w: World, rt: Any, train_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    execution = start_training(rt, request(train_id))
    assert execution.name == train_id and execution.status == "RUNNING"
    arn = execution_arn(w.train_state_machine_arn, train_id)
    return w.wait(arn), w.history(arn)


def test_success_submits_train_evaluate_register_in_order(world: World) -> None:
    train_id = "companies-20260102-030405-0123abcd-s0"
    rt = runtime(world)
    described, events = run(world, rt, train_id)
    assert described["status"] == "SUCCEEDED", described
    assert history_states(events) == ["Train", "Evaluate", "Register", "Trained", "NotifySuccess"]

    # The jobs read the request the start wrote to S3.
    assert TrainRequest.model_validate_json(rt.store.get(keys.training_request(train_id))) == request(train_id)

    submitted = task_parameters(events, "batch")
    assert [p["JobName"] for p in submitted] == [f"{train_id}-{s}" for s in STEPS]
    for step, p in zip(STEPS, submitted, strict=True):
        assert p["JobQueue"] == world.queue_arn
        assert p["JobDefinition"] == "newsops-train"
        # The image's ENTRYPOINT is `python -m newsops_batch`: the CMD is the step and the id.
        assert p["ContainerOverrides"]["Command"] == [step, train_id]
        assert {"Name": "NEWSOPS_TRAIN_ID", "Value": train_id} in p["ContainerOverrides"]["Environment"]
        assert p["ContainerOverrides"]["ResourceRequirements"] == [{"Type": "GPU", "Value": "1"}]
        assert p["RetryStrategy"]["Attempts"] == 2
        assert p["RetryStrategy"]["EvaluateOnExit"][:2] == [{"OnExitCode": "75", "Action": "RETRY"},
                                                            {"OnExitCode": "65", "Action": "EXIT"}]
        assert p["Tags"] == {"newsops-train-id": train_id, "newsops-step": step,
                             "newsops-job-definition": "newsops-train"}
    timeouts = [e["taskScheduledEventDetails"].get("timeoutInSeconds") for e in events
                if e["type"] == "TaskScheduled" and e["taskScheduledEventDetails"]["resourceType"] == "batch"]
    assert timeouts == [2 * 5400 + 300, 2 * 1800 + 300, 2 * 900 + 300]  # TimeoutSecondsPath

    definition = world.client("batch").describe_job_definitions(jobDefinitionName="newsops-train")[
        "jobDefinitions"][0]["jobDefinitionArn"]
    jobs = {j["jobName"]: j for j in world.jobs()}
    assert set(jobs) == {f"{train_id}-{s}" for s in STEPS}
    for step in STEPS:
        job = jobs[f"{train_id}-{step}"]
        assert job["status"] == "SUCCEEDED" and job["jobDefinition"] == definition
        assert job["jobQueue"] == world.queue_arn
        assert job["tags"] == {"newsops-train-id": train_id, "newsops-step": step,
                               "newsops-job-definition": "newsops-train"}
        assert job["timeout"]["attemptDurationSeconds"] == {"train": 5400, "evaluate": 1800, "register": 900}[step]
        env = {e["name"]: e["value"] for e in job["container"]["environment"]}
        assert env["NEWSOPS_TRAIN_ID"] == train_id

    [alert] = world.alerts()
    assert alert["Subject"] == f"newsops train ok: {train_id}"
    message = json.loads(alert["Message"])
    assert message["train_id"] == train_id and message["task"] == TASK
    assert f"models/{TASK}/{train_id}/manifest.json" in message["look_at"]
    assert [message["jobs"][s]["JobName"] for s in STEPS] == [f"{train_id}-{s}" for s in STEPS]

    # The execution name is the train id: starting it again is the same execution.
    again = start_training(rt, request(train_id))
    assert again.status == "SUCCEEDED"
    assert len(world.client("stepfunctions").list_executions(
        stateMachineArn=world.train_state_machine_arn)["executions"]) == 1


def test_a_failing_train_job_alerts_and_fails_without_evaluating(world: World,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTO_SIMPLE_BATCH_FAIL_AFTER", "0")  # moto's Batch: every job FAILED
    train_id = "companies-20260102-030405-0123abcd-s1"
    described, events = run(world, runtime(world, gpu=0), train_id)

    assert described["status"] == "FAILED"
    assert described["error"] == "newsops.TrainingFailed"
    assert history_states(events) == ["Train", "TrainFailed", "ComposeFailure", "NotifyFailure",
                                      "TrainingFailed"]
    # Submitted once (Retry covers submission errors only), and nothing after it.
    [submitted] = task_parameters(events, "batch")
    assert submitted["JobName"] == f"{train_id}-train"
    assert submitted["ContainerOverrides"]["ResourceRequirements"] == []  # the task asks for no GPU
    assert [j["jobName"] for j in world.jobs()] == [f"{train_id}-train"]

    [alert] = world.alerts()
    assert alert["Subject"] == f"newsops train FAILED at train: {train_id}"
    assert len(alert["Subject"]) <= 100
    message = json.loads(alert["Message"])
    assert message["stage"] == "train" and message["train_id"] == train_id
    assert message["reason"] == "the train step failed: States.TaskFailed"
    assert message["error"]["Error"] == "States.TaskFailed"
    assert json.loads(message["error"]["Cause"])["Status"] == "FAILED"
    assert message["look_at"] == [keys.training_request(train_id)]
