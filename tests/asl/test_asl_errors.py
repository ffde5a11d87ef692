"""Retry, Catch, error-name matching, task and execution timeouts, stopping."""

from __future__ import annotations

import threading
import time

import pytest
from asl_support import Recorder, chain, event_types, run

from chalicelib.asl import Executor, StatesError, TaskContext, error_matches, states_entered


class Flaky:
    """Fails with ``error`` for the first ``failures`` calls, then returns the attempt."""

    def __init__(self, failures: int, error: str = "Service.Busy") -> None:
        self.failures = failures
        self.error = error
        self.attempts: list[int] = []
        self.started: list[float] = []

    def __call__(self, payload, ctx: TaskContext):
        self.started.append(time.monotonic())
        self.attempts.append(ctx.attempt)
        if len(self.attempts) <= self.failures:
            raise StatesError(self.error, f"call {len(self.attempts)}")
        return {"attempt": ctx.attempt}


def retrying_task(retry: list[dict], catch: list[dict] | None = None, **fields) -> dict:
    state = {"Type": "Task", "Resource": "arn:t", "Retry": retry, **fields}
    if catch is not None:
        state["Catch"] = catch
    return state


def test_error_matching_rules():
    assert error_matches(["States.ALL"], "Custom.Error")
    assert error_matches(["States.ALL"], "States.Timeout")
    assert not error_matches(["States.ALL"], "States.Runtime")
    assert not error_matches(["States.Runtime"], "States.Runtime"), "Runtime is terminal"
    assert not error_matches(["States.ALL"], "States.DataLimitExceeded")
    assert error_matches(["States.TaskFailed"], "Custom.Error")
    assert error_matches(["States.TaskFailed"], "States.Permissions")
    assert not error_matches(["States.TaskFailed"], "States.Timeout")
    assert not error_matches(["States.TaskFailed"], "States.HeartbeatTimeout")
    assert error_matches(["States.Timeout"], "States.HeartbeatTimeout")
    assert not error_matches(["A", "B"], "C")
    assert error_matches(["A", "B"], "B")


def test_retry_until_success_counts_attempts_and_backoff():
    flaky = Flaky(failures=2)
    slept: list[float] = []
    definition = chain(("T", retrying_task([{"ErrorEquals": ["Service.Busy"]}])))
    result = run(definition, {}, Recorder({"arn:t": flaky}), sleep=slept.append)
    assert result.output == {"attempt": 2}
    assert flaky.attempts == [0, 1, 2]
    assert slept == [1.0, 2.0], "defaults: IntervalSeconds 1, BackoffRate 2"
    assert event_types(result).count("TaskScheduled") == 3


def test_retries_exhausted_after_max_attempts_then_fail():
    flaky = Flaky(failures=100)
    slept: list[float] = []
    retry = [
        {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 3, "BackoffRate": 1.5, "MaxAttempts": 3}
    ]
    result = run(
        chain(("T", retrying_task(retry))), {}, Recorder({"arn:t": flaky}), sleep=slept.append
    )
    assert (result.status, result.error, result.cause) == ("FAILED", "Service.Busy", "call 4")
    assert len(flaky.attempts) == 4, "one try plus MaxAttempts retries"
    assert slept == [3.0, 4.5, 6.75]


def test_max_attempts_zero_never_retries():
    flaky = Flaky(failures=1)
    retry = [{"ErrorEquals": ["Service.Busy"], "MaxAttempts": 0}]
    result = run(
        chain(("T", retrying_task(retry))), {}, Recorder({"arn:t": flaky}), sleep=lambda s: None
    )
    assert result.error == "Service.Busy" and len(flaky.attempts) == 1


def test_max_delay_caps_backoff_and_scale_applies():
    flaky = Flaky(failures=4)
    slept: list[float] = []
    retry = [
        {
            "ErrorEquals": ["States.ALL"],
            "IntervalSeconds": 2,
            "MaxAttempts": 5,
            "MaxDelaySeconds": 5,
        }
    ]
    run(
        chain(("T", retrying_task(retry))),
        {},
        Recorder({"arn:t": flaky}),
        sleep=slept.append,
        retry_interval_scale=0.1,
    )
    assert slept == pytest.approx([0.2, 0.4, 0.5, 0.5])


def test_full_jitter_stays_within_the_computed_delay():
    flaky = Flaky(failures=3)
    slept: list[float] = []
    retry = [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 4, "JitterStrategy": "FULL"}]
    run(chain(("T", retrying_task(retry))), {}, Recorder({"arn:t": flaky}), sleep=slept.append)
    assert len(slept) == 3
    assert all(0 <= s <= limit for s, limit in zip(slept, [4, 8, 16], strict=True))


def test_only_the_first_matching_retrier_applies_and_each_counts_separately():
    errors = iter(["A", "B", "A", "B", "A"])

    def alternate(payload, ctx):
        raise StatesError(next(errors), "")

    retry = [
        {"ErrorEquals": ["A"], "MaxAttempts": 2, "IntervalSeconds": 1},
        {"ErrorEquals": ["A", "B"], "MaxAttempts": 5, "IntervalSeconds": 10},
    ]
    slept: list[float] = []
    result = run(
        chain(("T", retrying_task(retry))), {}, Recorder({"arn:t": alternate}), sleep=slept.append
    )
    # A(r1 #1) B(r2 #1) A(r1 #2) B(r2 #2) A(r1 exhausted -> fail; r2 is not consulted)
    assert slept == [1.0, 10.0, 2.0, 20.0]
    assert result.error == "A"


def test_retry_count_is_visible_in_the_context_object():
    flaky = Flaky(failures=2)
    recorder = Recorder({"arn:t": lambda payload, ctx: flaky(payload, ctx) and payload})
    definition = chain(
        (
            "T",
            retrying_task(
                [{"ErrorEquals": ["States.ALL"]}], Parameters={"n.$": "$$.State.RetryCount"}
            ),
        )
    )
    run(definition, {}, recorder, sleep=lambda s: None)
    assert recorder.payloads() == [{"n": 0}, {"n": 1}, {"n": 2}]


def test_backoff_gaps_grow_by_the_backoff_rate_in_real_time():
    # Real sleeps, scaled: expected gaps 0.2 s, 0.4 s, 0.8 s.  The scale is large
    # enough that scheduling noise on a busy machine stays well inside the tolerance.
    flaky = Flaky(failures=3)
    retry = [
        {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "BackoffRate": 2, "MaxAttempts": 3}
    ]
    result = run(
        chain(("T", retrying_task(retry))),
        {},
        Recorder({"arn:t": flaky}),
        retry_interval_scale=0.2,
        sleep=time.sleep,
    )
    assert result.status == "SUCCEEDED"
    starts = flaky.started
    gaps = [later - earlier for earlier, later in zip(starts, starts[1:], strict=False)]
    assert len(gaps) == 3
    assert gaps[0] == pytest.approx(0.2, abs=0.08)
    ratios = [gaps[1] / gaps[0], gaps[2] / gaps[1]]
    assert ratios == [pytest.approx(2.0, abs=0.45), pytest.approx(2.0, abs=0.45)]


def test_catch_replaces_input_with_error_output_by_default():
    definition = chain(
        (
            "T",
            {
                "Type": "Task",
                "Resource": "arn:t",
                "Catch": [{"ErrorEquals": ["Custom.X"], "Next": "H"}],
            },
        ),
        ("H", {"Type": "Pass", "End": True}),
    )

    def fail(payload, ctx):
        raise StatesError("Custom.X", "details")

    result = run(definition, {"orig": 1}, Recorder({"arn:t": fail}))
    assert result.output == {"Error": "Custom.X", "Cause": "details"}
    assert event_types(result)[-4:] == [
        "TaskStateExited",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]


def test_catch_result_path_keeps_input_and_skips_output_path():
    definition = chain(
        (
            "T",
            {
                "Type": "Task",
                "Resource": "arn:t",
                "OutputPath": "$.never",
                "Catch": [
                    {"ErrorEquals": ["Other"], "Next": "Wrong"},
                    {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "H"},
                ],
            },
        ),
        ("H", {"Type": "Succeed"}),
        ("Wrong", {"Type": "Fail"}),
    )

    def boom(payload, ctx):
        raise RuntimeError("kaput")

    result = run(definition, {"orig": 1}, Recorder({"arn:t": boom}))
    assert result.output == {"orig": 1, "error": {"Error": "States.TaskFailed", "Cause": "kaput"}}


def test_retry_then_catch():
    flaky = Flaky(failures=10, error="Svc.Down")
    definition = chain(
        (
            "T",
            retrying_task(
                [{"ErrorEquals": ["Svc.Down"], "MaxAttempts": 2}],
                [{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.e", "Next": "H"}],
            ),
        ),
        ("H", {"Type": "Succeed"}),
    )
    result = run(definition, {}, Recorder({"arn:t": flaky}), sleep=lambda s: None)
    assert result.output == {"e": {"Error": "Svc.Down", "Cause": "call 3"}}
    assert len(flaky.attempts) == 3


def test_states_runtime_is_neither_retried_nor_caught():
    recorder = Recorder()
    definition = chain(
        (
            "T",
            retrying_task(
                [{"ErrorEquals": ["States.ALL"]}],
                [{"ErrorEquals": ["States.ALL"], "Next": "H"}],
                ResultSelector={"x.$": "$.missing"},
            ),
        ),
        ("H", {"Type": "Succeed"}),
    )
    result = run(definition, {"a": 1}, recorder, sleep=lambda s: None)
    assert (result.status, result.error) == ("FAILED", "States.Runtime")
    assert len(recorder.calls) == 1


def test_generic_exception_becomes_task_failed_and_states_error_keeps_its_name():
    def plain(payload, ctx):
        raise KeyError("k")

    result = run(
        chain(("T", {"Type": "Task", "Resource": "arn:t"})), {}, Recorder({"arn:t": plain})
    )
    assert (result.error, result.cause) == ("States.TaskFailed", "'k'")
    failed = [e for e in result.history if e.type == "TaskFailed"]
    assert failed[0].details["error"] == "States.TaskFailed"


# -- timeouts -------------------------------------------------------------------


def blocking_until_cancelled(observed: threading.Event):
    def invoke(payload, ctx: TaskContext):
        if ctx.cancelled.wait(timeout=10):
            observed.set()
        return "too late"

    return invoke


def test_task_timeout_raises_states_timeout_and_sets_cancelled():
    observed = threading.Event()
    definition = chain(
        (
            "T",
            {
                "Type": "Task",
                "Resource": "arn:t",
                "TimeoutSeconds": 1,
                "Catch": [
                    {"ErrorEquals": ["States.TaskFailed"], "Next": "WrongHandler"},
                    {"ErrorEquals": ["States.Timeout"], "Next": "TimeoutHandler"},
                ],
            },
        ),
        ("TimeoutHandler", {"Type": "Succeed"}),
        ("WrongHandler", {"Type": "Fail"}),
    )
    began = time.monotonic()
    result = run(definition, {}, Recorder({"arn:t": blocking_until_cancelled(observed)}))
    assert 0.9 < time.monotonic() - began < 3
    assert result.output["Error"] == "States.Timeout", "States.TaskFailed must not catch a timeout"
    assert observed.wait(2), "the invoker must see ctx.cancelled"
    assert "TaskTimedOut" in event_types(result)
    assert states_entered(result.history) == ["T", "TimeoutHandler"]


def test_uncaught_task_timeout_fails_the_execution():
    observed = threading.Event()
    definition = chain(("T", {"Type": "Task", "Resource": "arn:t", "TimeoutSeconds": 1}))
    result = run(definition, {}, Recorder({"arn:t": blocking_until_cancelled(observed)}))
    assert (result.status, result.error) == ("FAILED", "States.Timeout")
    assert observed.wait(2)


def test_heartbeats_keep_a_task_alive_and_missing_ones_time_it_out():
    def beating(payload, ctx: TaskContext):
        for _ in range(6):
            time.sleep(0.25)
            ctx.heartbeat()
        return "done"

    alive = {"Type": "Task", "Resource": "arn:beat", "HeartbeatSeconds": 1, "TimeoutSeconds": 5}
    ok = run(chain(("T", alive)), {}, Recorder({"arn:beat": beating}))
    assert (ok.status, ok.output) == ("SUCCEEDED", "done")

    observed = threading.Event()
    silent = {"Type": "Task", "Resource": "arn:t", "HeartbeatSeconds": 1}
    bad = run(chain(("T", silent)), {}, Recorder({"arn:t": blocking_until_cancelled(observed)}))
    assert (bad.status, bad.error) == ("FAILED", "States.HeartbeatTimeout")
    assert observed.wait(2)


def test_execution_timeout_times_out_and_cancels_the_running_task():
    observed = threading.Event()
    definition = chain(("T", {"Type": "Task", "Resource": "arn:t"}), TimeoutSeconds=1)
    result = run(definition, {}, Recorder({"arn:t": blocking_until_cancelled(observed)}))
    assert (result.status, result.error) == ("TIMED_OUT", "States.Timeout")
    assert result.output is None
    assert event_types(result)[-1] == "ExecutionTimedOut"
    assert observed.wait(2)


def test_stop_aborts_a_running_execution():
    started = threading.Event()
    observed = threading.Event()

    def invoke(resource, payload, ctx: TaskContext):
        started.set()
        return blocking_until_cancelled(observed)(payload, ctx)

    definition = chain(("T", {"Type": "Task", "Resource": "arn:t"}))
    executor = Executor(definition, invoke)
    outcome: list = []
    thread = threading.Thread(target=lambda: outcome.append(executor.execute({}, name="x")))
    thread.start()
    assert started.wait(5)
    assert executor.stop("other") == 0
    assert executor.stop("x", error="User.Stop", cause="enough") == 1
    thread.join(5)
    [result] = outcome
    assert (result.status, result.error, result.cause) == ("ABORTED", "User.Stop", "enough")
    assert event_types(result)[-1] == "ExecutionAborted"
    assert observed.wait(2)
