"""Runs one definition on moto's Step Functions and on the local executor, same input, same name.

The local side gets a task invoker that answers as moto's integrations answer (Lambda echoes its
payload, Batch succeeds or fails as moto's ``MOTO_SIMPLE_BATCH_FAIL_AFTER`` says, SNS returns a
message id), so any difference left is a difference between the two interpreters.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from chalicelib.asl import Executor, StatesError, TaskContext
from chalicelib.asl import states_entered as local_states_entered
from tests.aws.moto_world import World, history_states

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
BATCH_SYNC = "arn:aws:states:::batch:submitJob.sync"
SNS_PUBLISH = "arn:aws:states:::sns:publish"


@dataclass
class Outcome:
    status: str
    output: Any
    error: str | None
    states: list[str]
    cause: str | None = None
    task_attempts: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def chain(*states: tuple[str, dict[str, Any]], **top: Any) -> dict[str, Any]:
    """A definition whose states run in order; the last ends (unless it is Choice/Succeed/Fail)."""
    body: dict[str, Any] = {}
    for i, (name, state) in enumerate(states):
        state = dict(state)
        if state["Type"] not in ("Choice", "Succeed", "Fail") and "Next" not in state and "End" not in state:
            if i + 1 < len(states):
                state["Next"] = states[i + 1][0]
            else:
                state["End"] = True
        body[name] = state
    return {"StartAt": states[0][0], "States": body, **top}


def fill(definition: dict[str, Any], w: World) -> dict[str, Any]:
    """The world's ARNs in place of ${Placeholders}, as in the deployment."""
    text = json.dumps(definition)
    for name, value in {**w.substitutions(), "EchoFunctionArn": w.lambda_arns["index"]}.items():
        text = text.replace("${" + name + "}", value)
    return json.loads(text)


class MotoInvoker:
    """What moto's integrations answer, for the local executor."""

    def __init__(self, w: World) -> None:
        self.w = w
        self.definitions = {d["jobDefinitionName"] for d in
                            w.client("batch").describe_job_definitions()["jobDefinitions"]}

    def __call__(self, resource: str, params: Any, ctx: TaskContext) -> Any:
        if resource == LAMBDA_INVOKE:
            return {"StatusCode": 200, "Payload": params.get("Payload")}
        if resource.startswith("arn:aws:lambda:"):
            return params  # a bare function ARN: the result is the function's return value
        if resource == SNS_PUBLISH:
            return {"MessageId": str(uuid.uuid4())}
        if resource == BATCH_SYNC:
            return self._batch(params, ctx)
        raise StatesError("States.TaskFailed", f"no stand-in for {resource}")

    def _batch(self, p: dict[str, Any], ctx: TaskContext) -> Any:
        if p["JobDefinition"] not in self.definitions:
            raise StatesError("Batch.ClientException", f"Job definition {p['JobDefinition']} does not exist")
        fail_after = os.environ.get("MOTO_SIMPLE_BATCH_FAIL_AFTER")
        job = {"JobName": p["JobName"], "JobId": str(uuid.uuid4()), "JobQueue": p["JobQueue"]}
        if fail_after is None:
            return {**job, "Status": "SUCCEEDED"}
        if ctx.cancelled.wait(int(fail_after or 0)):
            return None
        raise StatesError("States.TaskFailed", json.dumps({**job, "Status": "FAILED"}))


def run_moto(w: World, definition: dict[str, Any], payload: Any, name: str, *,
             machine: str = "conformance", timeout_s: float = 60) -> Outcome:
    arn = w.create_state_machine(fill(definition, w), machine)
    described, events = w.run(arn, payload, name, timeout_s=timeout_s)
    output = described.get("output")
    return Outcome(status=described["status"], output=json.loads(output) if output is not None else None,
                   error=described.get("error"), states=history_states(events), cause=described.get("cause"),
                   task_attempts=sum(e["type"] == "TaskStarted" for e in events))


def run_local(w: World, definition: dict[str, Any], payload: Any, name: str, *,
              machine: str = "conformance", invoker: Any = None) -> Outcome:
    executor = Executor(fill(definition, w), invoker or MotoInvoker(w), retry_interval_scale=1.0,
                        state_machine_name=machine)
    result = executor.execute(payload, name=name)
    return Outcome(status=result.status, output=result.output, error=result.error,
                   states=local_states_entered(result.history), cause=result.cause,
                   task_attempts=sum(e.type == "TaskStarted" for e in result.history))


def same_states(a: list[str], b: list[str], top_level: set[str]) -> bool:
    """Top-level states in the same order; states inside Map/Parallel branches as a multiset
    (iterations run concurrently, so their interleaving is not part of the contract)."""
    return [s for s in a if s in top_level] == [s for s in b if s in top_level] and \
        Counter(s for s in a if s not in top_level) == Counter(s for s in b if s not in top_level)


def elapsed(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    started = time.monotonic()
    return fn(*args, **kwargs), time.monotonic() - started
