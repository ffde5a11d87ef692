"""The workflow on Step Functions: one execution per run, named by the run id.

The execution name is the idempotency key: Step Functions never runs two executions of one
name in a state machine (within 90 days), so a second ``start`` for a run id, whether it
gets the original response back or ``ExecutionAlreadyExists``, is reported as the
existing execution rather than an error.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.aws import error_code
from chalicelib.workflow.base import Execution, ExecutionStatus, Workflow

log = logging.getLogger("newsops.workflow.sfn")

MAX_INPUT_BYTES = 256 * 1024
_TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")


def _ts(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


def execution_arn(state_machine_arn: str, name: str) -> str:
    """arn:…:states:<region>:<account>:stateMachine:<sm> -> arn:…:execution:<sm>:<name>."""
    head, sep, machine = state_machine_arn.rpartition(":stateMachine:")
    if not sep:
        raise ValueError(f"not a state machine ARN: {state_machine_arn}")
    return f"{head}:execution:{machine}:{name}"


def states_entered(events: list[dict[str, Any]]) -> list[str]:
    """Names of the states entered, in history order (Map iterations included), as the local executor reports them."""
    return [e["stateEnteredEventDetails"]["name"] for e in events
            if e["type"].endswith("StateEntered") and "stateEnteredEventDetails" in e]


class StepFunctionsWorkflow(Workflow):
    def __init__(self, state_machine_arn: str, client: Any, *, with_history: bool = True) -> None:
        if not state_machine_arn:
            raise ValueError("StepFunctionsWorkflow needs a state machine ARN (NEWSOPS_STATE_MACHINE_ARN)")
        execution_arn(state_machine_arn, "x")  # fail at construction on a malformed ARN
        self.state_machine_arn = state_machine_arn
        self.with_history = with_history
        self._sfn = client

    def start(self, run_id: str, payload: dict[str, Any]) -> Execution:
        body = json.dumps(payload)
        if len(body.encode()) > MAX_INPUT_BYTES:
            # Fail here, with the reason, rather than as an opaque ValidationException.
            raise ValueError(f"execution input of {run_id} is {len(body.encode())} bytes; "
                             f"Step Functions accepts {MAX_INPUT_BYTES}: pass keys, not data")
        try:
            resp = self._sfn.start_execution(stateMachineArn=self.state_machine_arn, name=run_id, input=body)
        except ClientError as exc:
            if error_code(exc) != "ExecutionAlreadyExists":
                raise
            log.info("execution %s already exists: not started again", run_id)
            try:
                existing = self.describe(run_id)
            except ClientError as denied:
                # A role allowed to start but not to describe (the ingest role needs only
                # StartExecution): the run exists, which is all the caller must know.
                log.warning("execution %s exists; its status is unreadable: %s", run_id, error_code(denied))
                return Execution(name=run_id, status="RUNNING",
                                 cause=f"already exists; DescribeExecution failed: {error_code(denied)}")
            return existing or Execution(name=run_id, status="RUNNING")
        return Execution(name=run_id, status="RUNNING", started=_ts(resp.get("startDate")))

    def describe(self, run_id: str) -> Execution | None:
        arn = execution_arn(self.state_machine_arn, run_id)
        try:
            d = self._sfn.describe_execution(executionArn=arn)
        except ClientError as exc:
            if error_code(exc) == "ExecutionDoesNotExist":
                return None
            raise
        status: ExecutionStatus = d["status"]
        output = d.get("output")
        execution = Execution(
            name=run_id, status=status, started=_ts(d.get("startDate")), stopped=_ts(d.get("stopDate")),
            output=json.loads(output) if output else None, error=d.get("error"), cause=d.get("cause"))
        if self.with_history and status in _TERMINAL:
            execution.states_entered = states_entered(self.history(run_id))
        return execution

    def history(self, run_id: str) -> list[dict[str, Any]]:
        """Every history event of the run's execution, oldest first."""
        arn = execution_arn(self.state_machine_arn, run_id)
        events: list[dict[str, Any]] = []
        for page in self._sfn.get_paginator("get_execution_history").paginate(executionArn=arn):
            events.extend(page["events"])
        return events

    def list_executions(self, *, status: str | None = None, limit: int = 50) -> list[Execution]:
        """Newest first; what the status API and the reaper look at (no history fetched)."""
        kwargs: dict[str, Any] = {"stateMachineArn": self.state_machine_arn,
                                  "PaginationConfig": {"MaxItems": limit}}
        if status:
            kwargs["statusFilter"] = status
        out: list[Execution] = []
        for page in self._sfn.get_paginator("list_executions").paginate(**kwargs):
            for e in page["executions"]:
                out.append(Execution(name=e["name"], status=e["status"], started=_ts(e.get("startDate")),
                                     stopped=_ts(e.get("stopDate"))))
        return out[:limit]

    def stop(self, run_id: str, *, error: str = "newsops.Stopped", cause: str = "") -> None:
        """Abort a running execution (a no-op for one that already ended)."""
        try:
            self._sfn.stop_execution(executionArn=execution_arn(self.state_machine_arn, run_id),
                                     error=error, cause=cause[:32768])
        except ClientError as exc:
            if error_code(exc) not in ("ExecutionDoesNotExist", "ExecutionNotRunning"):
                raise
