"""Step Functions on one machine: the SAME ASL file, run by the local interpreter.

Task resources become local actions: ``batch:submitJob.sync`` -> the compute port,
``lambda:invoke`` -> the Chalice function in-process, ``sns:publish`` -> the alerts port.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from chalicelib.alerts.base import Alert, AlertSink
from chalicelib.asl import Executor, StatesError, TaskContext, states_entered
from chalicelib.clock import SYSTEM_CLOCK, Clock
from chalicelib.compute.base import Compute, JobRequest
from chalicelib.compute.local import process_start_time
from chalicelib.compute.retry_policy import from_cloudformation
from chalicelib.ledger.base import Ledger
from chalicelib.workflow import definition as asl_definition
from chalicelib.workflow.base import ORCHESTRATOR_DIED, Execution, Workflow

log = logging.getLogger("newsops.workflow.local")

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
        # The pipeline passes no RetryStrategy: the job definition's applies (the compute's
        # stand-in definitions, chalicelib/compute/retry_policy.py). One passed replaces it.
        retry = p.get("RetryStrategy")
        env = {e["Name"]: e["Value"] for e in (p.get("ContainerOverrides") or {}).get("Environment", [])}
        command = (p.get("ContainerOverrides") or {}).get("Command")
        request = JobRequest(
            name=p["JobName"], queue=p["JobQueue"], definition=p["JobDefinition"],
            array_size=int((p.get("ArrayProperties") or {}).get("Size", 0)),
            environment=env, command=command,
            attempts=int(retry.get("Attempts", 1)) if retry is not None else None,
            timeout_s=(p.get("Timeout") or {}).get("AttemptDurationSeconds"),
            exit_rules=list(from_cloudformation(retry.get("EvaluateOnExit", []))) if retry is not None else None,
            tags=dict(p.get("Tags") or {}),
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
        # What SNS answers to a subject it refuses, so a local run fails where AWS would.
        if len(subject) > 100 or not subject.isascii() or not subject.isprintable():
            raise StatesError("SNS.InvalidParameterException",
                              f"Invalid parameter: Subject ({len(subject)} characters, must be at most "
                              "100 printable ASCII characters on one line)")
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
    """Runs an execution inside the process that starts it (the orchestrator). That process
    can die (kill -9, a closed laptop): it heartbeats in the ledger, and ``describe`` reports an
    execution whose orchestrator is gone as ABORTED, so the verifier alerts it within minutes
    and ``newsops run --retry`` resumes it, instead of a run RUNNING until its 6-hour limit."""

    def __init__(self, dispatcher: LocalTaskDispatcher, ledger: Ledger, *,
                 retry_interval_scale: float = 1.0, definition: dict[str, Any] | None = None,
                 clock: Clock | None = None, heartbeat_s: float = 10.0) -> None:
        self.definition = definition or asl_definition.load(asl_definition.LOCAL_SUBSTITUTIONS)
        self.dispatcher = dispatcher
        self.ledger = ledger
        self.retry_interval_scale = retry_interval_scale
        self.clock = clock or SYSTEM_CLOCK
        self.heartbeat_s = heartbeat_s
        self._lock = threading.Lock()

    def start(self, run_id: str, payload: dict[str, Any]) -> Execution:
        with self._lock:
            existing = self.describe(run_id)
            if existing is not None:
                return existing  # as Step Functions: the same name never runs twice
            doc = {"status": "RUNNING", "started": self.clock.now(), "heartbeat": self.clock.now(),
                   "host": socket.gethostname(), "pid": os.getpid(),
                   "pid_started": process_start_time(os.getpid())}
            self.ledger.put_state("executions", run_id, doc)
        executor = Executor(self.definition, self.dispatcher,
                            retry_interval_scale=self.retry_interval_scale, wall_clock=self.clock.now)
        started = self.clock.now()
        beating = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(run_id, doc, beating), daemon=True,
                                name=f"newsops-heartbeat-{run_id[:20]}")
        beat.start()
        try:
            result = executor.execute(payload, name=run_id)
        finally:
            beating.set()
            beat.join()
        execution = Execution(name=run_id, status=result.status, started=started, stopped=self.clock.now(),
                              output=result.output, error=result.error, cause=result.cause,
                              states_entered=states_entered(result.history))
        self.ledger.put_state("executions", run_id, {
            "status": execution.status, "started": execution.started, "stopped": execution.stopped,
            "error": execution.error, "cause": execution.cause,
            "states_entered": execution.states_entered})
        return execution

    def _heartbeat(self, run_id: str, doc: dict[str, Any], stop: threading.Event) -> None:
        while not stop.wait(self.heartbeat_s):
            try:
                self.ledger.put_state("executions", run_id, {**doc, "heartbeat": self.clock.now()})
            except Exception:  # noqa: BLE001 - a missed beat is survivable; three are reported
                log.exception("execution %s: heartbeat not recorded", run_id)

    def _orchestrator_gone(self, doc: dict[str, Any]) -> str | None:
        """Why the process running a RUNNING execution is known to be dead, or None."""
        pid, host = doc.get("pid"), doc.get("host")
        if pid and host == socket.gethostname() and doc.get("pid_started") is not None \
                and process_start_time(int(pid)) != doc["pid_started"]:
            return f"its orchestrator process {pid} on {host} has exited"
        beat = doc.get("heartbeat")
        if beat is not None and self.clock.now() - float(beat) > 3 * self.heartbeat_s:
            return (f"its orchestrator's last heartbeat was {self.clock.now() - float(beat):.0f}s ago "
                    f"(every {self.heartbeat_s:.0f}s)")
        return None

    def describe(self, run_id: str) -> Execution | None:
        doc = self.ledger.get_state("executions", run_id)
        if doc is None:
            return None
        if doc["status"] == "RUNNING":
            gone = self._orchestrator_gone(doc)
            if gone:
                return Execution(name=run_id, status="ABORTED", started=doc.get("started"),
                                 stopped=doc.get("heartbeat"), error=ORCHESTRATOR_DIED,
                                 cause=f"the orchestrator died: {gone}")
        return Execution(name=run_id, status=doc["status"], started=doc.get("started"),
                         stopped=doc.get("stopped"), error=doc.get("error"), cause=doc.get("cause"),
                         states_entered=doc.get("states_entered"))
