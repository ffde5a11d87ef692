"""One retry policy (issue #15): the job definitions own it, the state machine passes none, and
the local compute applies the same rules.

Read from what is deployed: the rendered template's job definitions and the state machine
definition, with attempts as AWS Batch reports them (exit code, container reason, status reason).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from chalicelib.compute.base import JobRequest
from chalicelib.compute.batch import submit_job_request
from chalicelib.compute.local import LocalCompute
from chalicelib.compute.retry_policy import (
    EXIT_RULES,
    RetryStrategy,
    decide,
    from_cloudformation,
    job_definitions,
)
from chalicelib.contract.taskconfig import load_tasks
from chalicelib.workflow import definition as asl_definition
from scripts.deploy import build_template

# What Batch reports for each failure (DescribeJobs attempts[]: container.exitCode,
# container.reason, statusReason).
OUT_OF_MEMORY = {"exit_code": 137, "reason": "OutOfMemoryError: Container killed due to memory usage",
                 "status_reason": "Essential container in task exited"}
KILLED_137 = {"exit_code": 137, "reason": "", "status_reason": "Essential container in task exited"}
RETRYABLE = {"exit_code": 75, "reason": "", "status_reason": "Essential container in task exited"}
PERMANENT = {"exit_code": 65, "reason": "", "status_reason": "Essential container in task exited"}
SPOT_RECLAIMED = {"exit_code": None, "reason": "",
                  "status_reason": "Host EC2 (instance i-0123456789abcdef0) terminated."}
SPOT_RECLAIMED_KILLED = {**SPOT_RECLAIMED, "exit_code": 137}
CANNOT_START = {"exit_code": None, "reason": "CannotStartContainerError: Error response from daemon",
                "status_reason": "Task failed to start"}
EXPECTED = [(OUT_OF_MEMORY, "EXIT"), (KILLED_137, "EXIT"), (RETRYABLE, "RETRY"), (PERMANENT, "EXIT"),
            (SPOT_RECLAIMED, "RETRY"), (SPOT_RECLAIMED_KILLED, "RETRY"), (CANNOT_START, "RETRY")]


@pytest.fixture(scope="module")
def rendered() -> dict[str, Any]:
    return build_template.build()["Resources"]


def _job_definitions(resources: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {lid: r["Properties"] for lid, r in resources.items() if r["Type"] == "AWS::Batch::JobDefinition"}


def _submit_states(states: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for name, state in states.items():
        if str(state.get("Resource", "")).startswith("arn:aws:states:::batch:submitJob"):
            found.append((name, state))
        for branch in state.get("Branches", []):
            found += _submit_states(branch["States"])
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                found += _submit_states(state[key]["States"])
    return found


@pytest.mark.parametrize(("failure", "action"), EXPECTED,
                         ids=["out-of-memory", "sigkill-137", "exit-75", "exit-65", "spot-reclaim",
                              "spot-reclaim-137", "cannot-start"])
def test_every_rendered_job_definition_decides_as_the_policy(rendered: dict[str, Any], failure: dict[str, Any],
                                                              action: str) -> None:
    definitions = _job_definitions(rendered)
    assert "TrainJobDefinition" in definitions and len(definitions) == len(load_tasks().tasks) + 1
    for lid, props in definitions.items():
        rules = from_cloudformation(props["RetryStrategy"]["EvaluateOnExit"])
        assert len(rules) <= 5, f"{lid}: Batch takes at most 5 evaluateOnExit conditions"
        assert decide(rules, **failure) == action, (lid, failure)


def test_the_rendered_definitions_carry_each_tasks_attempts_and_the_one_rule_list(rendered: dict[str, Any]) -> None:
    definitions = _job_definitions(rendered)
    for task in load_tasks().tasks:
        retry = definitions[build_template.logical_id(task.name)]["RetryStrategy"]
        assert retry["Attempts"] == task.attempts
        assert from_cloudformation(retry["EvaluateOnExit"]) == EXIT_RULES
    # what the local compute runs with: the same names and attempts
    local = job_definitions("newsops", load_tasks().tasks)
    assert {n: s.attempts for n, s in local.items()} == {f"newsops-{t.name}": t.attempts for t in load_tasks().tasks}


def test_the_state_machine_passes_no_retry_strategy_of_its_own() -> None:
    """A RetryStrategy at SubmitJob replaces the job definition's whole strategy (its OnReason
    "*" -> RETRY once retried out-of-memory jobs 3 x 30 GPU-minutes)."""
    machine = json.loads(asl_definition.DEFINITION_PATH.read_text())
    submits = _submit_states(machine["States"])
    assert {name for name, _ in submits} == {"SubmitArrayJob", "SubmitJob"}
    for name, state in submits:
        params = state["Parameters"]
        assert "RetryStrategy" not in params and "RetryStrategy.$" not in params, name
        assert params["JobDefinition.$"] == "$.task.job_definition", "the definition that holds the policy"


def test_batch_submissions_leave_the_definitions_strategy_alone() -> None:
    plain = submit_job_request(JobRequest("r1-embed", "q", "newsops-embed", array_size=4), "q")
    assert "retryStrategy" not in plain
    override = submit_job_request(JobRequest("r1-embed", "q", "newsops-embed", attempts=2), "q")
    assert override["retryStrategy"]["attempts"] == 2
    assert {"onReason": "OutOfMemoryError*", "action": "EXIT"} in override["retryStrategy"]["evaluateOnExit"]
    assert {"onStatusReason": "Host EC2*", "action": "RETRY"} in override["retryStrategy"]["evaluateOnExit"]


# ------------------------------------------------------------------ the local compute, same rules
def _py(code: str) -> list[str]:
    return [sys.executable, "-c", code]


TASK = load_tasks().tasks[0].model_copy(update={"attempts": 3})
DEFINITION = f"newsops-{TASK.name}"


@pytest.fixture
def compute(tmp_path: Path):
    c = LocalCompute(tmp_path, workers=2, retry=job_definitions("newsops", [TASK]))
    yield c
    c.shutdown()


def _attempts(compute: LocalCompute, code: str, definition: str = DEFINITION) -> tuple[str, int]:
    job = compute.submit(JobRequest("r1-t", "q", definition, command=_py(code)))
    status = compute.wait(job, poll_s=0.05)
    return status.status, len(status.attempts)


def test_the_local_compute_takes_attempts_from_the_job_definition_and_retries_exit_75(compute) -> None:
    assert _attempts(compute, "import sys; sys.exit(75)") == ("FAILED", 3)
    flaky = "import os,sys; sys.exit(75 if os.environ['AWS_BATCH_JOB_ATTEMPT']!='3' else 0)"
    assert _attempts(compute, flaky) == ("SUCCEEDED", 3)


def test_the_local_compute_does_not_retry_exit_65_or_a_process_killed_as_out_of_memory(compute) -> None:
    assert _attempts(compute, "import sys; sys.exit(65)") == ("FAILED", 1)
    # SIGKILL, the OOM killer's signal: Batch reports it as exit code 137, and so do the rules
    assert _attempts(compute, "import os, signal; os.kill(os.getpid(), signal.SIGKILL)") == ("FAILED", 1)
    # an unknown failure is retried, as Batch retries what no rule matches
    assert _attempts(compute, "import sys; sys.exit(3)") == ("FAILED", 3)


def test_a_definition_without_a_retry_strategy_runs_once(compute) -> None:
    assert _attempts(compute, "import sys; sys.exit(75)", definition="newsops-unregistered") == ("FAILED", 1)


def test_a_timed_out_attempt_is_not_retried(tmp_path: Path) -> None:
    compute = LocalCompute(tmp_path, workers=1, retry={"d": RetryStrategy(3)})
    try:
        job = compute.submit(JobRequest("r1-t", "q", "d", command=_py("import time; time.sleep(30)"), timeout_s=1))
        status = compute.wait(job, poll_s=0.05)
    finally:
        compute.shutdown()
    assert status.status == "FAILED" and len(status.attempts) == 1
    assert status.attempts[0]["reason"].startswith("Job attempt duration exceeded timeout")
