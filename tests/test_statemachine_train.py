"""statemachine/train.asl.json: valid ASL (statelint) and the shape the training loop relies on."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from chalicelib.compute.retry_policy import cloudformation_rules
from chalicelib.contract.schema import TrainRequest
from chalicelib.settings import Settings
from chalicelib.training import STEPS, execution_input, job_name
from chalicelib.workflow import definition

REPRESENTATIVE = {
    "JobQueueArn": "arn:aws:batch:eu-west-1:123456789012:job-queue/newsops-prod",
    "AlertsTopicArn": "arn:aws:sns:eu-west-1:123456789012:newsops-prod-alerts",
}
BATCH_STATES = {"train": "Train", "evaluate": "Evaluate", "register": "Register"}
SUBMISSION_ERRORS = {"Batch.AWSBatchException", "Batch.TooManyRequestsException", "Batch.ServerException"}


def load() -> dict[str, Any]:
    return definition.load(REPRESENTATIVE, definition.TRAIN_DEFINITION_PATH)


def request(train_id: str = "company-ner-20260101-120000-0123abcd-s0") -> TrainRequest:
    return TrainRequest(train_id=train_id, task="company-ner", data_key=f"training/{train_id}/data/x.jsonl",
                        dev_fraction=0.2, created=datetime(2026, 1, 1, tzinfo=UTC))


def test_placeholders_are_inside_strings_and_a_subset_of_the_pipelines() -> None:
    text = definition.TRAIN_DEFINITION_PATH.read_text()
    json.loads(text)
    for m in re.finditer(r"\$\{[A-Za-z0-9_]+\}", text):
        before = text[:m.start()].rsplit("\n", 1)[-1]
        assert before.count('"') % 2 == 1, f"placeholder outside a string: {m.group()}"
    assert definition.placeholders(text) == set(REPRESENTATIVE)
    # The local backend fills both definitions from the same values.
    assert set(REPRESENTATIVE) <= set(definition.LOCAL_SUBSTITUTIONS)
    assert definition.placeholders(text) <= definition.placeholders(definition.DEFINITION_PATH.read_text())


def test_statelint_accepts_the_substituted_definition(tmp_path: Path) -> None:
    path = tmp_path / "train.json"
    path.write_text(json.dumps(load()))
    statelint = shutil.which("statelint") or str(Path(sys.executable).parent / "statelint")
    out = subprocess.run([statelint, str(path)], capture_output=True, text=True)
    assert out.returncode == 0 and not out.stdout.strip(), out.stdout + out.stderr


def test_a_missing_placeholder_value_is_an_error() -> None:
    with pytest.raises(KeyError, match="JobQueueArn"):
        definition.load({"AlertsTopicArn": "x"}, definition.TRAIN_DEFINITION_PATH)


def test_train_evaluate_register_each_a_batch_job_in_order() -> None:
    d = load()
    states = d["States"]
    assert d["StartAt"] == "Train"
    assert states["Train"]["Next"] == "Evaluate" and states["Evaluate"]["Next"] == "Register"
    assert states["Register"]["Next"] == "Trained" and states["Trained"]["Next"] == "NotifySuccess"
    assert states["NotifySuccess"]["End"] is True
    for step, name in BATCH_STATES.items():
        state = states[name]
        assert state["Resource"] == "arn:aws:states:::batch:submitJob.sync"
        p = state["Parameters"]
        assert p["JobQueue"] == REPRESENTATIVE["JobQueueArn"]
        assert p["JobDefinition.$"] == "$.job_definition"
        assert p["JobName.$"] == f"$.steps.{step}.job_name"
        assert p["ContainerOverrides"] == {"Command.$": f"$.steps.{step}.command",
                                           "Environment.$": "$.environment",
                                           "ResourceRequirements.$": "$.resources"}
        assert p["RetryStrategy"]["Attempts.$"] == f"$.steps.{step}.attempts"
        # Each step has its own attempts, so the machine passes a strategy: exactly the rules the
        # job definitions carry (out of memory is not retried), not a second policy.
        assert p["RetryStrategy"]["EvaluateOnExit"] == cloudformation_rules()
        assert p["Timeout"] == {"AttemptDurationSeconds.$": f"$.steps.{step}.timeout_s"}
        assert p["Tags"] == {"newsops-train-id.$": "$.train_id", "newsops-step": step,
                             "newsops-job-definition.$": "$.job_definition"}
        assert state["TimeoutSecondsPath"] == f"$.steps.{step}.sfn_timeout_s"
        assert state["ResultPath"] == f"$.jobs.{step}"
        # Batch retries the attempt (evaluateOnExit); the Task retries only the submission.
        assert {e for r in state["Retry"] for e in r["ErrorEquals"]} == SUBMISSION_ERRORS
        [catch] = state["Catch"]
        assert catch["ErrorEquals"] == ["States.ALL"] and catch["ResultPath"] == "$.error"
        failed = states[catch["Next"]]
        assert failed["Type"] == "Pass" and failed["Result"] == step
        assert failed["Next"] == "ComposeFailure"
    assert states["ComposeFailure"]["Next"] == "NotifyFailure"
    notify = states["NotifyFailure"]
    assert notify["Resource"] == "arn:aws:states:::sns:publish"
    assert notify["Parameters"]["TopicArn"] == REPRESENTATIVE["AlertsTopicArn"]
    assert states[notify["Next"]]["Type"] == "Fail"


def test_the_execution_input_fills_every_path_the_definition_reads() -> None:
    payload = execution_input(Settings(job_attempts=2, train_timeout_s=7200, queue_wait_s=600),
                              request(), gpu=1).model_dump()
    text = definition.TRAIN_DEFINITION_PATH.read_text()
    written = {s["ResultPath"].removeprefix("$.") for s in load()["States"].values() if s.get("ResultPath")}
    written |= {c["ResultPath"].removeprefix("$.") for s in load()["States"].values() for c in s.get("Catch", [])}
    for path in set(re.findall(r"\$\.([a-z_]+(?:\.[a-z_]+)*)", text)):
        if any(path == w or path.startswith(w + ".") for w in written):
            continue  # what the execution itself put there
        node: Any = payload
        for part in path.split("."):
            assert isinstance(node, dict) and part in node, f"$.{path} is not in the execution input"
            node = node[part]
    train = payload["steps"]["train"]
    assert train["command"] == ["train", payload["train_id"]]  # the image's ENTRYPOINT runs python -m newsops_batch
    assert train["attempts"] == 2 and train["timeout_s"] == 7200 and train["sfn_timeout_s"] == 2 * 7200 + 600
    assert payload["steps"]["register"]["timeout_s"] < payload["steps"]["train"]["timeout_s"]
    assert payload["resources"] == [{"Type": "GPU", "Value": "1"}]
    assert execution_input(Settings(), request(), gpu=0).resources == []
    assert payload["environment"] == [{"Name": "NEWSOPS_TRAIN_ID", "Value": payload["train_id"]}]
    assert payload["job_definition"] == "newsops-train"


def test_the_job_definition_is_the_one_the_stack_creates() -> None:
    from chalicelib.training import job_definition
    from scripts.deploy.layout import TRAIN_JOB_DEFINITION

    # The stack names it <AppName>-<Stage>-train, which is NEWSOPS_JOB_DEFINITION_PREFIX-train.
    assert job_definition(Settings(job_definition_prefix="PREFIX")) == f"PREFIX-{TRAIN_JOB_DEFINITION}"


def test_job_names_are_what_batch_accepts() -> None:
    longest = "a." + "b" * 62  # the longest train id TrainRequest allows, with a dot Batch refuses
    request(longest)
    for step in STEPS:
        name = job_name(longest, step)
        assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}", name), name


def test_alert_subjects_fit_sns_for_the_longest_train_id() -> None:
    """SNS refuses a subject over 100 characters: the longest id and step name must fit."""
    states = load()["States"]
    longest_id = "x" * 64
    longest_step = max(STEPS, key=len)
    for state, values in (("NotifyFailure", (longest_step, longest_id)), ("NotifySuccess", (longest_id,))):
        template = re.fullmatch(r"States\.Format\('(.*)', .*\)", states[state]["Parameters"]["Subject.$"])
        assert template, states[state]["Parameters"]["Subject.$"]
        subject = template.group(1).format(*values)
        assert len(subject) <= 100, (state, len(subject))
