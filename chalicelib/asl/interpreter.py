"""The executor: runs a loaded state machine with Task resources handed to a callable.

Concurrency model: the execution runs in the caller's thread; every Map
iteration and Parallel branch gets its own thread, and every Task invocation
runs in a worker thread so that the executor can enforce TimeoutSeconds and
HeartbeatSeconds without the invoker's cooperation.  Cancellation (a timed-out
task, a failed sibling iteration, an execution timeout or stop) flows down a
tree of scopes; the ``cancelled`` event a task sees is set by any of them.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .choice import parse_timestamp
from .definition import (
    INLINE_MAP_CONCURRENCY_CAP,
    ChoiceState,
    FailState,
    Machine,
    MapState,
    ParallelState,
    PassState,
    Retrier,
    RetryableState,
    State,
    SucceedState,
    TaskState,
    WaitState,
    load,
)
from .errors import (
    DATA_LIMIT_EXCEEDED,
    HEARTBEAT_TIMEOUT,
    NO_CHOICE_MATCHED,
    RUNTIME,
    TASK_FAILED,
    TIMEOUT,
    StatesError,
    error_matches,
)
from .history import HistoryEvent, states_entered
from .paths import Path, apply_result_path, dumps, select

__all__ = [
    "ExecutionResult",
    "Executor",
    "HistoryEvent",
    "TaskContext",
    "TaskInvoker",
    "states_entered",
]

# AWS's limit on a state's input or output (256 KiB).
MAX_PAYLOAD_BYTES = 262144

_REGION = "us-east-1"
_ACCOUNT = "123456789012"


@dataclass
class TaskContext:
    """What a task invoker knows about the Task it runs."""

    state_name: str
    execution_name: str
    timeout_s: float | None  # TimeoutSeconds (or TimeoutSecondsPath); None when unset
    # Set when the task timed out, a sibling Map iteration or Parallel branch
    # failed, or the execution timed out or was stopped: stop working then.
    cancelled: threading.Event
    attempt: int  # 0 for the first attempt, n for the n-th retry
    heartbeat_s: float | None = None  # HeartbeatSeconds; call heartbeat() more often
    _on_heartbeat: Callable[[], None] = field(default=lambda: None, repr=False, compare=False)

    def heartbeat(self) -> None:
        """Report progress, resetting the HeartbeatSeconds timer (SendTaskHeartbeat)."""
        self._on_heartbeat()


TaskInvoker = Callable[[str, Any, TaskContext], Any]
"""(resource ARN, effective parameters or input, context) -> JSON-serialisable result.

Raise StatesError to fail with a specific error name; any other exception
fails the task with States.TaskFailed and ``str(exc)`` as the cause.
"""

Status = Literal["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]


@dataclass
class ExecutionResult:
    status: Status
    output: Any | None
    error: str | None
    cause: str | None
    history: list[HistoryEvent]


class _Cancelled(Exception):
    """Unwinds a branch whose scope was cancelled; never seen by Retry/Catch."""


class _Scope:
    """A node of the cancellation tree: cancelling it cancels everything below."""

    def __init__(self, parent: _Scope | None = None) -> None:
        self.event = threading.Event()
        self._lock = threading.Lock()
        self._children: set[_Scope] = set()
        self._callbacks: list[Callable[[], None]] = []
        self._parent = parent
        if parent is not None:
            parent._adopt(self)

    def _adopt(self, child: _Scope) -> None:
        with self._lock:
            if not self.event.is_set():
                self._children.add(child)
                return
        child.cancel()

    def child(self) -> _Scope:
        return _Scope(self)

    def close(self) -> None:
        # Detach so that long executions do not accumulate finished scopes.
        if self._parent is not None:
            with self._parent._lock:
                self._parent._children.discard(self)

    def on_cancel(self, callback: Callable[[], None]) -> None:
        with self._lock:
            if not self.event.is_set():
                self._callbacks.append(callback)
                return
        callback()

    def cancel(self) -> None:
        with self._lock:
            if self.event.is_set():
                return
            self.event.set()
            children, callbacks = list(self._children), list(self._callbacks)
        for child in children:
            child.cancel()
        for callback in callbacks:
            callback()

    @property
    def cancelled(self) -> bool:
        return self.event.is_set()

    def check(self) -> None:
        if self.event.is_set():
            raise _Cancelled()


def _iso(epoch: float) -> str:
    now = dt.datetime.fromtimestamp(epoch, dt.UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


class _Run:
    """The mutable state of one execution, shared by all of its threads."""

    def __init__(
        self,
        name: str,
        state_machine_name: str,
        input_value: Any,
        on_event: Callable[[HistoryEvent], None] | None,
        wall_clock: Callable[[], float],
    ) -> None:
        self.name = name
        self.wall_clock = wall_clock
        # Reentrant: an on_event callback may call Executor.stop().
        self.lock = threading.RLock()
        self.history: list[HistoryEvent] = []
        self.root = _Scope()
        self.interruption: tuple[Status, str | None, str | None] | None = None
        self._on_event = on_event
        machine_arn = f"arn:aws:states:{_REGION}:{_ACCOUNT}:stateMachine:{state_machine_name}"
        self._context_base = {
            "Execution": {
                "Id": f"arn:aws:states:{_REGION}:{_ACCOUNT}:execution:{state_machine_name}:{name}",
                "Input": input_value,
                "Name": name,
                "RoleArn": f"arn:aws:iam::{_ACCOUNT}:role/local-step-functions",
                "StartTime": _iso(wall_clock()),
                "RedriveCount": 0,
            },
            "StateMachine": {"Id": machine_arn, "Name": state_machine_name},
        }

    def emit(self, event_type: str, state_name: str | None = None, **details: Any) -> None:
        event = HistoryEvent(event_type, state_name, self.wall_clock(), details)
        with self.lock:
            self.history.append(event)
            if self._on_event is not None:
                self._on_event(event)

    def interrupt(self, status: Status, error: str | None, cause: str | None) -> None:
        with self.lock:
            if self.interruption is None:
                self.interruption = (status, error, cause)
        self.root.cancel()

    def context(self, state_name: str) -> dict[str, Any]:
        """A fresh context object (``$$``) for a state being entered."""
        return {
            **self._context_base,
            "State": {"EnteredTime": _iso(self.wall_clock()), "Name": state_name, "RetryCount": 0},
        }


def _retry_delay(retriers: tuple[Retrier, ...], counts: list[int], error: str) -> float | None:
    """Seconds to wait before the next attempt, or None when the error is not retried.

    Only the first Retrier whose ErrorEquals matches applies; each Retrier
    counts its own attempts, as the spec requires.
    """
    for index, retrier in enumerate(retriers):
        if not error_matches(retrier.error_equals, error):
            continue
        if counts[index] >= retrier.max_attempts:
            return None
        delay = retrier.interval_s * retrier.backoff_rate ** counts[index]
        if retrier.max_delay_s is not None:
            delay = min(delay, retrier.max_delay_s)
        if retrier.jitter == "FULL":
            delay = random.uniform(0.0, delay)
        counts[index] += 1
        return delay
    return None


def _json_copy(value: Any, what: str) -> Any:
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise StatesError(RUNTIME, f"{what} is not JSON-serialisable: {exc}") from None


def _whole_seconds(value: Any, path: Path, minimum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise StatesError(
            RUNTIME,
            f"The value of '{path.text}' must be an integer >= {minimum}, got {dumps(value)}",
        )
    return value


class Executor:
    """Runs one state machine definition; ``execute`` may be called many times.

    ``sleep`` receives the (scaled) seconds of Wait states and retry back-offs.
    With the default ``time.sleep`` those waits are interruptible, so a stopped
    or timed-out execution does not linger.  ``clock`` times TimeoutSeconds and
    HeartbeatSeconds of Tasks; the execution-level TimeoutSeconds uses a timer.
    ``wall_clock`` (epoch seconds) is the date: history event times, ``$$`` start and
    entered times, and how far off a Wait state's ``Timestamp`` is.
    """

    def __init__(
        self,
        definition: Mapping[str, Any] | str,
        invoke: TaskInvoker,
        *,
        retry_interval_scale: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        on_event: Callable[[HistoryEvent], None] | None = None,
        state_machine_name: str = "LocalStateMachine",
    ) -> None:
        if retry_interval_scale < 0:
            raise ValueError("retry_interval_scale must not be negative")
        self.machine: Machine = load(definition)
        self._invoke_task = invoke
        self._scale = retry_interval_scale
        self._sleep = sleep
        self._clock = clock
        self._wall_clock = wall_clock
        self._on_event = on_event
        self._state_machine_name = state_machine_name
        self._runs_lock = threading.Lock()
        self._runs: list[_Run] = []

    # -- public -----------------------------------------------------------

    def execute(self, input: Any, *, name: str = "local") -> ExecutionResult:
        """Run one execution to completion and return its outcome and history."""
        try:
            data = json.loads(json.dumps(input, allow_nan=False))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"the execution input is not JSON-serialisable: {exc}") from None
        run = _Run(name, self._state_machine_name, data, self._on_event, self._wall_clock)
        with self._runs_lock:
            self._runs.append(run)
        run.emit("ExecutionStarted", input=dumps(data))
        timer: threading.Timer | None = None
        if self.machine.timeout_s is not None:
            timer = threading.Timer(
                self.machine.timeout_s,
                run.interrupt,
                (
                    "TIMED_OUT",
                    TIMEOUT,
                    f"Execution timed out after {self.machine.timeout_s} seconds",
                ),
            )
            timer.daemon = True
            timer.start()
        failure: StatesError | None = None
        output: Any = None
        finished = False
        try:
            output = self._run_machine(run, self.machine, data, run.root)
            finished = True
        except StatesError as err:
            failure = err
        except _Cancelled:
            pass
        finally:
            if timer is not None:
                timer.cancel()
            with self._runs_lock:
                self._runs.remove(run)

        if finished:
            run.emit("ExecutionSucceeded", output=dumps(output))
            return ExecutionResult("SUCCEEDED", output, None, None, list(run.history))
        with run.lock:
            interruption = run.interruption
        if interruption is not None:
            # The timeout or stop came first; any error seen since is its consequence.
            status, error, cause = interruption
            event = "ExecutionTimedOut" if status == "TIMED_OUT" else "ExecutionAborted"
            run.emit(event, error=error, cause=cause)
            return ExecutionResult(status, None, error, cause, list(run.history))
        assert failure is not None
        run.emit("ExecutionFailed", error=failure.error, cause=failure.cause)
        return ExecutionResult(
            "FAILED", None, failure.error or None, failure.cause or None, list(run.history)
        )

    def stop(
        self, name: str | None = None, *, error: str | None = None, cause: str | None = None
    ) -> int:
        """Abort running executions (all, or those called ``name``), like StopExecution.

        Returns how many were stopped; their ``execute`` returns status ABORTED.
        """
        with self._runs_lock:
            runs = [run for run in self._runs if name is None or run.name == name]
        for run in runs:
            run.interrupt("ABORTED", error, cause)
        return len(runs)

    # -- state graph ------------------------------------------------------

    def _run_machine(self, run: _Run, machine: Machine, data: Any, scope: _Scope) -> Any:
        name: str | None = machine.start_at
        while name is not None:
            scope.check()
            state = machine.states[name]
            handler = self._HANDLERS[type(state)]
            data, name = handler(self, run, state, data, scope)
        return data

    def _exit(self, run: _Run, state: State, output: Any) -> Any:
        text = dumps(output)
        if len(text.encode("utf-8")) > MAX_PAYLOAD_BYTES:
            raise StatesError(
                DATA_LIMIT_EXCEEDED,
                f"The state/task '{state.name}' returned a result with a size exceeding "
                f"the maximum number of bytes service limit.",
            )
        run.emit(f"{state.type}StateExited", state.name, output=text)
        return output

    def _pause(self, seconds: float, scope: _Scope) -> None:
        if seconds > 0:
            if self._sleep is time.sleep:
                if scope.event.wait(seconds):
                    raise _Cancelled()
                return
            self._sleep(seconds)
        scope.check()

    # -- states -----------------------------------------------------------

    def _run_pass(
        self, run: _Run, st: PassState, raw: Any, scope: _Scope
    ) -> tuple[Any, str | None]:
        run.emit("PassStateEntered", st.name, input=dumps(raw))
        ctx = run.context(st.name)
        effective = select(st.input_path, raw, ctx)
        if st.parameters is not None:
            effective = st.parameters.evaluate(effective, ctx)
        result = copy.deepcopy(st.result) if st.has_result else effective
        output = select(st.output_path, apply_result_path(st.result_path, raw, result), ctx)
        return self._exit(run, st, output), st.next

    def _run_succeed(
        self, run: _Run, st: SucceedState, raw: Any, scope: _Scope
    ) -> tuple[Any, str | None]:
        run.emit("SucceedStateEntered", st.name, input=dumps(raw))
        ctx = run.context(st.name)
        output = select(st.output_path, select(st.input_path, raw, ctx), ctx)
        return self._exit(run, st, output), None

    def _run_fail(
        self, run: _Run, st: FailState, raw: Any, scope: _Scope
    ) -> tuple[Any, str | None]:
        run.emit("FailStateEntered", st.name, input=dumps(raw))
        ctx = run.context(st.name)
        values: list[str] = []
        for literal, dynamic, what in (
            (st.error, st.error_value, "ErrorPath"),
            (st.cause, st.cause_value, "CausePath"),
        ):
            value: Any = literal
            if dynamic is not None:
                value = dynamic.evaluate(raw, ctx)
                if not isinstance(value, str):
                    raise StatesError(
                        RUNTIME, f"The value of {what} must be a string, got {dumps(value)}"
                    )
            values.append(value or "")
        raise StatesError(values[0], values[1])

    def _run_choice(
        self, run: _Run, st: ChoiceState, raw: Any, scope: _Scope
    ) -> tuple[Any, str | None]:
        run.emit("ChoiceStateEntered", st.name, input=dumps(raw))
        ctx = run.context(st.name)
        effective = select(st.input_path, raw, ctx)
        target = next(
            (nxt for predicate, nxt in st.choices if predicate(effective, ctx)), st.default
        )
        if target is None:
            raise StatesError(
                NO_CHOICE_MATCHED,
                f"No Choice Rule matched in state '{st.name}' and it has no Default",
            )
        output = select(st.output_path, effective, ctx)
        return self._exit(run, st, output), target

    def _run_wait(
        self, run: _Run, st: WaitState, raw: Any, scope: _Scope
    ) -> tuple[Any, str | None]:
        run.emit("WaitStateEntered", st.name, input=dumps(raw))
        ctx = run.context(st.name)
        effective = select(st.input_path, raw, ctx)
        seconds: float
        if st.seconds is not None:
            seconds = st.seconds
        elif st.seconds_path is not None:
            seconds = _whole_seconds(select(st.seconds_path, effective, ctx), st.seconds_path, 0)
        else:
            text: Any = st.timestamp
            if st.timestamp_path is not None:
                text = select(st.timestamp_path, effective, ctx)
            target = parse_timestamp(text)
            if target is None:
                raise StatesError(
                    RUNTIME, f"The Wait timestamp {dumps(text)} is not an RFC 3339 timestamp"
                )
            now = dt.datetime.fromtimestamp(run.wall_clock(), dt.UTC)
            seconds = max(0.0, (target - now).total_seconds())
        self._pause(seconds * self._scale, scope)
        output = select(st.output_path, effective, ctx)
        return self._exit(run, st, output), st.next

    def _run_task(
        self, run: _Run, st: TaskState, raw: Any, scope: _Scope
    ) -> tuple[Any, str | None]:
        run.emit("TaskStateEntered", st.name, input=dumps(raw))
        ctx = run.context(st.name)
        effective = select(st.input_path, raw, ctx)

        def attempt(number: int) -> Any:
            params = effective if st.parameters is None else st.parameters.evaluate(effective, ctx)
            timeout_s, heartbeat_s = st.timeout_s, st.heartbeat_s
            if st.timeout_path is not None:
                timeout_s = _whole_seconds(
                    select(st.timeout_path, effective, ctx), st.timeout_path, 1
                )
            if st.heartbeat_path is not None:
                heartbeat_s = _whole_seconds(
                    select(st.heartbeat_path, effective, ctx), st.heartbeat_path, 1
                )
            return self._invoke(run, st, params, number, timeout_s, heartbeat_s, scope)

        return self._resilient(run, st, raw, ctx, scope, attempt)

    def _run_map(self, run: _Run, st: MapState, raw: Any, scope: _Scope) -> tuple[Any, str | None]:
        run.emit("MapStateEntered", st.name, input=dumps(raw))
        ctx = run.context(st.name)
        effective = select(st.input_path, raw, ctx)
        processor = st.processor
        assert processor is not None

        def iteration(index: int, item: Any, group: _Scope) -> Any:
            item_input = item
            if st.item_selector is not None:
                # $$.Map.Item is visible to ItemSelector only, as in AWS.
                item_ctx = {**ctx, "Map": {"Item": {"Index": index, "Value": item}}}
                item_input = st.item_selector.evaluate(effective, item_ctx)
            return self._run_machine(run, processor, item_input, group)

        def attempt(_number: int) -> Any:
            try:
                items = select(st.items_path, effective, ctx)
                if not isinstance(items, list):
                    raise StatesError(
                        RUNTIME,
                        f"Invalid path '{st.items_path.text}': the ItemsPath value must be an array, "
                        f"got {dumps(items)}",
                    )
                limit = st.max_concurrency
                if st.max_concurrency_path is not None:
                    limit = _whole_seconds(
                        select(st.max_concurrency_path, effective, ctx), st.max_concurrency_path, 0
                    )
                run.emit("MapStateStarted", st.name, length=len(items))
                jobs = [
                    (lambda group, i=i, item=item: iteration(i, item, group))
                    for i, item in enumerate(items)
                ]
                results = self._fan_out(
                    run, st.name, jobs, limit or INLINE_MAP_CONCURRENCY_CAP, scope, "MapIteration"
                )
            except StatesError as err:
                run.emit("MapStateFailed", st.name, error=err.error, cause=err.cause)
                raise
            except _Cancelled:
                run.emit("MapStateAborted", st.name)
                raise
            run.emit("MapStateSucceeded", st.name)
            return results

        return self._resilient(run, st, raw, ctx, scope, attempt)

    def _run_parallel(
        self, run: _Run, st: ParallelState, raw: Any, scope: _Scope
    ) -> tuple[Any, str | None]:
        run.emit("ParallelStateEntered", st.name, input=dumps(raw))
        ctx = run.context(st.name)
        effective = select(st.input_path, raw, ctx)

        def attempt(_number: int) -> Any:
            try:
                branch_input = effective
                if st.parameters is not None:
                    branch_input = st.parameters.evaluate(effective, ctx)
                run.emit("ParallelStateStarted", st.name)
                jobs = [
                    (
                        lambda group, branch=branch: self._run_machine(
                            run, branch, branch_input, group
                        )
                    )
                    for branch in st.branches
                ]
                results = self._fan_out(run, st.name, jobs, len(jobs), scope, None)
            except StatesError as err:
                run.emit("ParallelStateFailed", st.name, error=err.error, cause=err.cause)
                raise
            except _Cancelled:
                run.emit("ParallelStateAborted", st.name)
                raise
            run.emit("ParallelStateSucceeded", st.name)
            return results

        return self._resilient(run, st, raw, ctx, scope, attempt)

    _HANDLERS: dict[type, Callable[..., tuple[Any, str | None]]] = {
        PassState: _run_pass,
        TaskState: _run_task,
        ChoiceState: _run_choice,
        WaitState: _run_wait,
        SucceedState: _run_succeed,
        FailState: _run_fail,
        MapState: _run_map,
        ParallelState: _run_parallel,
    }

    # -- shared machinery ---------------------------------------------------

    def _resilient(
        self,
        run: _Run,
        st: RetryableState,
        raw: Any,
        ctx: dict[str, Any],
        scope: _Scope,
        attempt: Callable[[int], Any],
    ) -> tuple[Any, str | None]:
        """Run ``attempt`` under the state's Retry and Catch, then shape its output."""
        counts = [0] * len(st.retry)
        number = 0
        while True:
            try:
                result = attempt(number)
                if st.result_selector is not None:
                    result = st.result_selector.evaluate(result, ctx)
                output = apply_result_path(st.result_path, raw, result)
                break
            except StatesError as err:
                delay = _retry_delay(st.retry, counts, err.error)
                if delay is None:
                    for catcher in st.catch:
                        if error_matches(catcher.error_equals, err.error):
                            error_output = {"Error": err.error, "Cause": err.cause}
                            # A catcher's output skips OutputPath, as in AWS.
                            caught = apply_result_path(catcher.result_path, raw, error_output)
                            return self._exit(run, st, caught), catcher.next
                    raise
                self._pause(delay * self._scale, scope)
                number += 1
                ctx["State"]["RetryCount"] = number
        output = select(st.output_path, output, ctx)
        return self._exit(run, st, output), st.next

    def _invoke(
        self,
        run: _Run,
        st: TaskState,
        params: Any,
        attempt: int,
        timeout_s: int | None,
        heartbeat_s: int | None,
        scope: _Scope,
    ) -> Any:
        payload = copy.deepcopy(params)
        run.emit(
            "TaskScheduled",
            st.name,
            resource=st.resource,
            parameters=dumps(payload),
            timeoutInSeconds=timeout_s,
            heartbeatInSeconds=heartbeat_s,
        )
        task_scope = scope.child()
        wake = threading.Event()
        task_scope.on_cancel(wake.set)
        last_beat = [self._clock()]

        def beat() -> None:
            last_beat[0] = self._clock()

        ctx = TaskContext(
            st.name, run.name, timeout_s, task_scope.event, attempt, heartbeat_s, beat
        )
        box: dict[str, Any] = {}

        def work() -> None:
            try:
                box["result"] = self._invoke_task(st.resource, payload, ctx)
            except BaseException as exc:  # noqa: BLE001 - handed to the executor thread
                box["error"] = exc
            finally:
                wake.set()

        run.emit("TaskStarted", st.name, resource=st.resource)
        worker = threading.Thread(target=work, name=f"asl-task-{st.name}", daemon=True)
        started = self._clock()
        worker.start()
        try:
            while not box:
                now = self._clock()
                deadlines = []
                if timeout_s is not None:
                    deadlines.append(started + timeout_s - now)
                if heartbeat_s is not None:
                    deadlines.append(last_beat[0] + heartbeat_s - now)
                wait_s = min(deadlines) if deadlines else None
                if wait_s is None or wait_s > 0:
                    wake.wait(wait_s)
                if box:
                    break
                task_scope.check()
                now = self._clock()
                expired = None
                if timeout_s is not None and now - started >= timeout_s:
                    expired = StatesError(
                        TIMEOUT, f"Task '{st.name}' timed out after {timeout_s} seconds"
                    )
                elif heartbeat_s is not None and now - last_beat[0] >= heartbeat_s:
                    expired = StatesError(
                        HEARTBEAT_TIMEOUT,
                        f"Task '{st.name}' sent no heartbeat for {heartbeat_s} seconds",
                    )
                if expired is not None:
                    task_scope.cancel()
                    run.emit(
                        "TaskTimedOut",
                        st.name,
                        resource=st.resource,
                        error=expired.error,
                        cause=expired.cause,
                    )
                    raise expired
        finally:
            task_scope.close()
        # A result that lands after the Map/Parallel/execution was cancelled is moot.
        scope.check()

        if "error" in box:
            exc = box["error"]
            if not isinstance(exc, Exception):
                raise exc
            if isinstance(exc, StatesError):
                err = StatesError(exc.error, exc.cause)
            else:
                err = StatesError(TASK_FAILED, str(exc))
            run.emit("TaskFailed", st.name, resource=st.resource, error=err.error, cause=err.cause)
            raise err
        try:
            result = _json_copy(box["result"], f"The result of task '{st.name}'")
        except StatesError as err:
            run.emit("TaskFailed", st.name, resource=st.resource, error=err.error, cause=err.cause)
            raise
        run.emit("TaskSucceeded", st.name, resource=st.resource, output=dumps(result))
        return result

    def _fan_out(
        self,
        run: _Run,
        state_name: str,
        jobs: list[Callable[[_Scope], Any]],
        limit: int,
        scope: _Scope,
        event_prefix: str | None,
    ) -> list[Any]:
        """Run ``jobs`` in threads, at most ``limit`` at once; results in job order.

        The first failure cancels the others and stops launching new ones; it is
        re-raised once every started job has finished.
        """
        group = scope.child()
        results: list[Any] = [None] * len(jobs)
        slots = threading.Condition()
        active = 0
        failure: BaseException | None = None

        def wake_launcher() -> None:
            with slots:
                slots.notify_all()

        group.on_cancel(wake_launcher)

        def emit(suffix: str, index: int, **details: Any) -> None:
            if event_prefix is not None:
                run.emit(event_prefix + suffix, state_name, name=state_name, index=index, **details)

        def runner(index: int) -> None:
            nonlocal active, failure
            try:
                results[index] = jobs[index](group)
                emit("Succeeded", index)
            except _Cancelled:
                emit("Aborted", index)
            except BaseException as exc:  # noqa: BLE001 - re-raised by the launcher
                if isinstance(exc, StatesError):
                    emit("Failed", index, error=exc.error, cause=exc.cause)
                with slots:
                    first = failure is None
                    if first:
                        failure = exc
                if first:
                    group.cancel()
            finally:
                with slots:
                    active -= 1
                    slots.notify_all()

        threads: list[threading.Thread] = []
        try:
            for index in range(len(jobs)):
                with slots:
                    while active >= limit and not group.cancelled:
                        slots.wait()
                    if group.cancelled:
                        break
                    active += 1
                emit("Started", index)
                thread = threading.Thread(
                    target=runner, args=(index,), name=f"asl-{state_name}-{index}", daemon=True
                )
                threads.append(thread)
                thread.start()
        finally:
            for thread in threads:
                thread.join()
            group.close()
        if failure is not None:
            raise failure
        scope.check()
        return results
