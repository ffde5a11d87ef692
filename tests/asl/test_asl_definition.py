"""Definition loading: what AWS would refuse is a DefinitionError here too."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from asl_support import Recorder, run

from chalicelib.asl import DefinitionError, Executor, StatesError, states_entered

PIPELINE = Path(__file__).resolve().parents[2] / "statemachine" / "pipeline.asl.json"

VALID = {
    "Comment": "ignored",
    "StartAt": "A",
    "States": {
        "A": {"Type": "Pass", "Comment": "also ignored", "Next": "B"},
        "B": {"Type": "Succeed"},
    },
}


def mutated(change) -> dict:
    definition = copy.deepcopy(VALID)
    change(definition)
    return definition


def test_valid_definition_loads_from_dict_and_json_text():
    assert run(VALID, {"x": 1}).output == {"x": 1}
    assert run(json.dumps(VALID), {"x": 1}).output == {"x": 1}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("StartAt"), "StartAt"),
        (lambda d: d.update(StartAt="Nope"), "Nope"),
        (lambda d: d["States"]["A"].update(Next="Nowhere"), "Nowhere"),
        (lambda d: d["States"].update(Orphan={"Type": "Pass", "End": True}), "not reachable"),
        (lambda d: d["States"]["A"].update(End=True), "Next"),
        (lambda d: d["States"]["A"].pop("Next"), "Next"),
        (lambda d: d["States"]["A"].update(Bogus=1), "Bogus"),
        (lambda d: d["States"]["A"].update(Type="Sleep"), "Sleep"),
        (lambda d: d["States"]["B"].update(Next="A"), "Next"),
        (lambda d: d.update(States={}), "States"),
        (lambda d: d.update(TimeoutSeconds=0), "TimeoutSeconds"),
        (lambda d: d.update(QueryLanguage="JSONata"), "JSONata"),
        (lambda d: d["States"]["A"].update(InputPath="a.b"), "InputPath"),
        (lambda d: d["States"]["A"].update(Parameters={"x.$": "$.a["}), "Parameters"),
        (lambda d: d["States"]["A"].update(Assign={"v": 1}), "variables"),
    ],
)
def test_invalid_definitions(change, message):
    with pytest.raises(DefinitionError, match=message):
        Executor(mutated(change), Recorder())


def test_invalid_json_text():
    with pytest.raises(DefinitionError, match="JSON"):
        Executor("{not json", Recorder())


def task_with(**fields) -> dict:
    return {
        "StartAt": "T",
        "States": {
            "T": {"Type": "Task", "Resource": "arn:t", "End": True, **fields},
            "H": {"Type": "Succeed"},
        },
    }


@pytest.mark.parametrize(
    "fields",
    [
        {"Retry": [{"ErrorEquals": ["States.ALL", "X"]}]},
        {"Retry": [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["X"]}]},
        {"Retry": [{"ErrorEquals": []}]},
        {"Retry": [{"ErrorEquals": ["X"], "BackoffRate": 0.5}]},
        {"Retry": [{"ErrorEquals": ["X"], "MaxAttempts": -1}]},
        {"Retry": [{"ErrorEquals": ["X"], "IntervalSeconds": 0}]},
        {"Retry": [{"ErrorEquals": ["X"], "JitterStrategy": "SOME"}]},
        {
            "Catch": [
                {"ErrorEquals": ["States.ALL"], "Next": "H"},
                {"ErrorEquals": ["X"], "Next": "H"},
            ]
        },
        {"Catch": [{"ErrorEquals": ["X"], "Next": "Missing"}]},
        {"Catch": [{"ErrorEquals": ["X"]}]},
        {"TimeoutSeconds": 1.5},
        {"TimeoutSeconds": 10, "TimeoutSecondsPath": "$.t"},
        {"TimeoutSeconds": 5, "HeartbeatSeconds": 5},
    ],
)
def test_invalid_retry_catch_and_timeouts(fields):
    definition = task_with(**fields)
    if "Catch" not in fields:
        del definition["States"]["H"]
    with pytest.raises(DefinitionError):
        Executor(definition, Recorder())


def test_task_needs_a_resource():
    with pytest.raises(DefinitionError, match="Resource"):
        Executor({"StartAt": "T", "States": {"T": {"Type": "Task", "End": True}}}, Recorder())


@pytest.mark.parametrize(
    "state",
    [
        {
            "Type": "Choice",
            "Choices": [{"Variable": "$.a", "IsNull": True, "Next": "B"}],
            "End": True,
        },
        {"Type": "Choice", "Choices": []},
        {"Type": "Choice", "Choices": [{"Variable": "$.a", "IsNull": True}], "Default": "B"},
        {"Type": "Wait", "Seconds": 1, "SecondsPath": "$.s", "Next": "B"},
        {"Type": "Wait", "Next": "B"},
        {"Type": "Wait", "Timestamp": "tomorrow", "Next": "B"},
        {"Type": "Fail", "Error": "E", "ErrorPath": "$.e"},
        {"Type": "Parallel", "Branches": [], "Next": "B"},
        {"Type": "Map", "Next": "B"},
        {
            "Type": "Map",
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED"},
                "StartAt": "I",
                "States": {"I": {"Type": "Pass", "End": True}},
            },
            "Next": "B",
        },
        {
            "Type": "Map",
            "ItemReader": {"Resource": "arn:aws:states:::s3:getObject"},
            "Iterator": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": True}}},
            "Next": "B",
        },
        {
            "Type": "Map",
            "Iterator": {"StartAt": "I", "States": {"I": {"Type": "Pass", "Next": "B"}}},
            "Next": "B",
        },
    ],
)
def test_invalid_state_bodies(state):
    definition = {"StartAt": "A", "States": {"A": state, "B": {"Type": "Succeed"}}}
    with pytest.raises(DefinitionError):
        Executor(definition, Recorder())


def test_no_terminal_state():
    definition = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "A"}}}
    with pytest.raises(DefinitionError, match="terminal"):
        Executor(definition, Recorder())


# -- the project's own workflow --------------------------------------------------


def pipeline_invoker(*, fail_task: str | None = None, verdict: str = "ok"):
    def invoke(resource, payload, ctx):
        if resource.startswith("arn:aws:states:::batch:submitJob"):
            if payload["JobName"] == fail_task:
                raise StatesError("States.TaskFailed", "Batch job failed")
            return {
                "JobId": f"id-{payload['JobName']}",
                "JobName": payload["JobName"],
                "Status": "SUCCEEDED",
                "Extra": 1,
            }
        if resource == "arn:aws:states:::lambda:invoke":
            name = payload["FunctionName"]
            if name == "${IndexFunctionArn}":
                return {"Payload": {"indexed": 10, "failed": 0}, "StatusCode": 200}
            if name == "${VerifyFunctionArn}":
                return {"Payload": {"verdict": verdict, "report": "r.json", "problems": ["p"]}}
            if name == "${CleanupFunctionArn}":
                return {"Payload": {"subject": "failed", "message": json.dumps(payload["Payload"])}}
        if resource == "arn:aws:states:::sns:publish":
            return {"MessageId": "m"}
        raise AssertionError(f"unexpected resource {resource}")

    return invoke


PIPELINE_INPUT = {
    "run_id": "r1",
    "manifest": "runs/r1/manifest.json",
    "tasks": [
        {
            "name": name,
            "job_name": f"job-{name}",
            "job_definition": "jd",
            "attempts": 2,
            "timeout_s": 600,
            "sfn_timeout_s": 900,
            "environment": [],
            "array_size": size,
        }
        for name, size in (("ner", 3), ("langid", 1))
    ],
    "index_slices": [{"first": 0, "last": 1}, {"first": 2, "last": 2}],
}


def test_project_pipeline_happy_path():
    executor = Executor(PIPELINE.read_text(), pipeline_invoker())
    result = executor.execute(PIPELINE_INPUT, name="r1")
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert result.output["jobs"] == [
        {"JobId": "id-job-ner", "JobName": "job-ner", "Status": "SUCCEEDED"},
        {"JobId": "id-job-langid", "JobName": "job-langid", "Status": "SUCCEEDED"},
    ]
    assert result.output["verify"]["verdict"] == "ok"
    entered = states_entered(result.history)
    assert entered[0] == "RunTasks"
    # The two iterations interleave; each routes by array size.
    assert sorted(entered[1:5]) == ["IsArrayJob", "IsArrayJob", "SubmitArrayJob", "SubmitJob"]
    assert entered[5:] == ["Index", "IndexSlice", "IndexSlice", "Verify", "Verdict", "NotifySuccess"]
    assert result.output["index"] == [{"indexed": 10, "failed": 0}] * 2  # one entry per slice


def test_project_pipeline_failed_task_is_caught_and_alerted():
    executor = Executor(PIPELINE.read_text(), pipeline_invoker(fail_task="job-langid"))
    result = executor.execute(PIPELINE_INPUT, name="r1")
    assert (result.status, result.error) == ("FAILED", "newsops.RunFailed")
    assert states_entered(result.history)[-3:] == ["Cleanup", "NotifyFailure", "RunFailed"]


# ---- SNS subjects on every path of the project pipeline ---------------------------------
def _longest_run_ids() -> list[str]:
    """The longest run ids keys.py makes: a 200-character batch name, and its replay with a
    40-character task name (execution names allow 80; SNS subjects 100)."""
    from chalicelib.contract import keys

    key = f"incoming/2026-11-27/{'b' * 200}.jsonl.gz"
    ids = [keys.run_id(key, "0" * 32), keys.replay_run_id(key, "0" * 32, "t" * 40, "v" * 60)]
    assert [len(i) for i in ids] == [57, 61]
    return ids


def _sns_checking_invoker(inner, published: list[str], *, cleanup_fails: bool = False):
    """``inner`` with SNS's rules on Publish (AWS refuses the call, so no alert goes out) and
    the project's own failure subject from the cleanup Lambda."""
    from chalicelib.steps.cleanup import failure_subject

    def invoke(resource, payload, ctx):
        if resource == "arn:aws:states:::sns:publish":
            subject = payload.get("Subject", "")
            if len(subject) > 100 or not subject.isascii() or not subject.isprintable():
                raise StatesError("SNS.InvalidParameterException", f"Invalid parameter: Subject {subject!r}")
            published.append(subject)
        if resource == "arn:aws:states:::lambda:invoke" and payload["FunctionName"] == "${CleanupFunctionArn}":
            if cleanup_fails:
                raise StatesError("ImportModuleError", "the cleanup function cannot start")
            rid = payload["Payload"]["run_id"]
            return {"Payload": {"subject": failure_subject(f"task {'t' * 40}", rid),
                                "message": json.dumps(payload["Payload"])}}
        return inner(resource, payload, ctx)

    return invoke


@pytest.mark.parametrize("path", ["success", "task-failed", "cleanup-failed"])
def test_every_alert_subject_of_the_pipeline_fits_sns(path: str) -> None:
    for rid in _longest_run_ids():
        published: list[str] = []
        inner = pipeline_invoker(fail_task=None if path == "success" else "job-langid")
        executor = Executor(PIPELINE.read_text(),
                            _sns_checking_invoker(inner, published, cleanup_fails=path == "cleanup-failed"))
        result = executor.execute({**PIPELINE_INPUT, "run_id": rid}, name=rid)
        assert result.status == ("SUCCEEDED" if path == "success" else "FAILED"), (result.error, result.cause)
        if path != "success":
            assert result.error == "newsops.RunFailed", result.cause  # not a failed NotifyFailure
        [subject] = published
        assert len(subject) <= 100 and subject.endswith(rid), subject
        assert subject.startswith({"success": "newsops run ok", "task-failed": "newsops run FAILED at task",
                                   "cleanup-failed": "newsops run FAILED, cleanup failed"}[path])
