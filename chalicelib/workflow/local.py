"""Step Functions on one machine: the SAME ASL file, run by the local interpreter.

Task resources become local actions: ``batch:submitJob.sync`` -> the compute port,
``lambda:invoke`` -> the Chalice function in-process, ``sns:publish`` -> the alerts port.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from chalicelib.alerts.base import Alert, AlertSink
from chalicelib.asl import Executor, StatesError, TaskContext, states_entered
from chalicelib.clock import SYSTEM_CLOCK, Clock
from chalicelib.compute.base import Compute, ExitRule, JobRequest
from chalicelib.ledger.base import Ledger
from chalicelib.workflow import definition as asl_definition
from chalicelib.workflow.base import Execution, Workflow

LambdaResolver = Callable[[str], Callable[[dict[str, Any], Any], Any]]

BATCH_SUBMIT_SYNC = "arn:aws:states:::batch:submitJob.sync"
LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
SNS_PUBLISH = "arn:aws:states:::sns:publish"


class LocalTaskDispatcher:
    def __init__(self, compute: Compute, lambdas: LambdaResolver, alerts: AlertSink) -> None:
        self.compute = compute
        self.lambdas = lambdas
        self.alerts = alerts

    def __call__(self, resource: str, params: Any, ctx: TaskContext) -> Any:
        if resource == BATCH_SUBMIT_SYNC:
            return self._batch(params, ctx)
        if resource == LAMBDA_INVOKE:
            return self._lambda(params)
        if resource == SNS_PUBLISH:
            return self._sns(params)
        raise StatesError("States.TaskFailed", f"the local backend has no action for resource {resource}")

    def _batch(self, p: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
        retry = p.get("RetryStrategy") or {}
        rules = [ExitRule(r["Action"].upper(), r.get("OnExitCode"), r.get("OnReason"))
                 for r in retry.get("EvaluateOnExit", [])]
        env = {e["Name"]: e["Value"] for e in (p.get("ContainerOverrides") or {}).get("Environment", [])}
        command = (p.get("ContainerOverrides") or {}).get("Command")
        request = JobRequest(
            name=p["JobName"], queue=p["JobQueue"], definition=p["JobDefinition"],
            array_size=int((p.get("ArrayProperties") or {}).get("Size", 0)),
            environment=env, command=command, attempts=int(retry.get("Attempts", 1)),
            timeout_s=(p.get("Timeout") or {}).get("AttemptDurationSeconds"),
            exit_rules=rules, tags=dict(p.get("Tags") or {}),
        )
        try:
            job_id = self.compute.submit(request)
        except ValueError as exc:
            # What Batch answers to an invalid SubmitJob, so the same Catch applies.
            raise StatesError("Batch.ClientException", str(exc)) from exc
        status = self.compute.wait(job_id, cancelled=ctx.cancelled)
        described = {"JobId": status.job_id, "JobName": status.name, "Status": status.status,
                     "StatusReason": status.reason, "ArrayProperties": {"Size": status.array_size,
                                                                        "StatusSummary": status.children},
                     "Attempts": status.attempts}
        if status.status != "SUCCEEDED":
            raise StatesError("States.TaskFailed", json.dumps(described, default=str))
        return described

    def _lambda(self, p: dict[str, Any]) -> dict[str, Any]:
        name = str(p["FunctionName"]).rsplit(":", 1)[-1]
        handler = self.lambdas(name)
        try:
            payload = handler(p.get("Payload", {}), None)
        except Exception as exc:  # noqa: BLE001 - Lambda reports any exception by its type name
            raise StatesError(type(exc).__name__, json.dumps({"errorMessage": str(exc),
                                                              "errorType": type(exc).__name__})) from exc
        return {"StatusCode": 200, "Payload": payload, "ExecutedVersion": "$LATEST"}

    def _sns(self, p: dict[str, Any]) -> dict[str, Any]:
        subject = p.get("Subject") or "newsops"
        message = p.get("Message")
        try:
            body = json.loads(message) if isinstance(message, str) else message
        except ValueError:
            body = {"reason": message}
        if not isinstance(body, dict):
            body = {"reason": str(body)}
        failed = "FAIL" in subject.upper()
        alert = Alert(subject=subject, severity="error" if failed else "info",
                      reason=str(body.get("reason") or subject), run_id=body.get("run_id"),
                      stage=body.get("stage"), counts=body.get("counts") or {},
                      look_at=body.get("look_at") or [],
                      details={k: v for k, v in body.items()
                               if k not in ("reason", "run_id", "stage", "counts", "look_at")})
        self.alerts.publish(alert)
        return {"MessageId": f"local-{time.time_ns()}"}


class LocalWorkflow(Workflow):
    def __init__(self, dispatcher: LocalTaskDispatcher, ledger: Ledger, *,
                 retry_interval_scale: float = 1.0, definition: dict[str, Any] | None = None,
                 clock: Clock | None = None) -> None:
        self.definition = definition or asl_definition.load(asl_definition.LOCAL_SUBSTITUTIONS)
        self.dispatcher = dispatcher
        self.ledger = ledger
        self.retry_interval_scale = retry_interval_scale
        self.clock = clock or SYSTEM_CLOCK
        self._lock = threading.Lock()

    def start(self, run_id: str, payload: dict[str, Any]) -> Execution:
        with self._lock:
            existing = self.describe(run_id)
            if existing is not None:
                return existing  # as Step Functions: the same name never runs twice
            self.ledger.put_state("executions", run_id, {"status": "RUNNING", "started": self.clock.now()})
        executor = Executor(self.definition, self.dispatcher,
                            retry_interval_scale=self.retry_interval_scale, wall_clock=self.clock.now)
        started = self.clock.now()
        result = executor.execute(payload, name=run_id)
        execution = Execution(name=run_id, status=result.status, started=started, stopped=self.clock.now(),
                              output=result.output, error=result.error, cause=result.cause,
                              states_entered=states_entered(result.history))
        self.ledger.put_state("executions", run_id, {
            "status": execution.status, "started": execution.started, "stopped": execution.stopped,
            "error": execution.error, "cause": execution.cause,
            "states_entered": execution.states_entered})
        return execution

    def describe(self, run_id: str) -> Execution | None:
        doc = self.ledger.get_state("executions", run_id)
        if doc is None:
            return None
        return Execution(name=run_id, status=doc["status"], started=doc.get("started"),
                         stopped=doc.get("stopped"), error=doc.get("error"), cause=doc.get("cause"),
                         states_entered=doc.get("states_entered"))
