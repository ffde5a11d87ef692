"""Pass, Wait, Succeed, Fail, Map and Parallel behaviour, and the history they leave."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from asl_support import Recorder, chain, event_types, run

from chalicelib.asl import StatesError, TaskContext, states_entered


def iterator(*states: tuple[str, dict]) -> dict:
    return {k: v for k, v in chain(*states).items() if k in ("StartAt", "States")}


def map_state(processor: dict, **fields) -> tuple[str, dict]:
    return ("M", {"Type": "Map", "ItemProcessor": processor, **fields})


def task(resource: str = "arn:work", **fields) -> tuple[str, dict]:
    return ("Work", {"Type": "Task", "Resource": resource, **fields})


# -- Wait ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wait", "data", "expected"),
    [
        ({"Seconds": 10}, {}, 10 * 0.5),
        ({"SecondsPath": "$.delay"}, {"delay": 4}, 4 * 0.5),
    ],
)
def test_wait_sleeps_through_the_injected_sleep_scaled(wait, data, expected):
    slept: list[float] = []
    result = run(
        chain(("W", {"Type": "Wait", **wait})),
        data,
        sleep=slept.append,
        retry_interval_scale=0.5,
    )
    assert result.status == "SUCCEEDED"
    assert result.output == data
    assert slept == [expected]


def test_wait_until_timestamp():
    slept: list[float] = []
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30)
    stamp = soon.strftime("%Y-%m-%dT%H:%M:%SZ")
    result = run(
        chain(("W", {"Type": "Wait", "TimestampPath": "$.at"})), {"at": stamp}, sleep=slept.append
    )
    assert result.status == "SUCCEEDED"
    assert 25 < slept[0] <= 30
    past = run(
        chain(("W", {"Type": "Wait", "Timestamp": "2001-01-01T00:00:00Z"})), sleep=slept.append
    )
    assert past.status == "SUCCEEDED" and len(slept) == 1, "a past timestamp does not wait"


def test_wait_seconds_path_must_be_a_non_negative_integer():
    result = run(chain(("W", {"Type": "Wait", "SecondsPath": "$.d"})), {"d": "soon"})
    assert (result.status, result.error) == ("FAILED", "States.Runtime")


# -- Succeed / Fail -----------------------------------------------------------


def test_succeed_ends_the_execution_with_its_filtered_input():
    definition = chain(
        ("S", {"Type": "Succeed", "InputPath": "$.keep"}),
    )
    result = run(definition, {"keep": {"a": 1}, "drop": 2})
    assert (result.status, result.output) == ("SUCCEEDED", {"a": 1})


def test_fail_reports_error_and_cause():
    result = run(chain(("F", {"Type": "Fail", "Error": "Custom.Bad", "Cause": "it broke"})))
    assert (result.status, result.error, result.cause) == ("FAILED", "Custom.Bad", "it broke")
    assert result.output is None
    assert event_types(result)[-2:] == ["FailStateEntered", "ExecutionFailed"]


def test_fail_error_path_and_cause_path():
    definition = chain(
        (
            "F",
            {
                "Type": "Fail",
                "ErrorPath": "$.err.name",
                "CausePath": "States.Format('code {}', $.err.code)",
            },
        )
    )
    result = run(definition, {"err": {"name": "Upstream.Down", "code": 503}})
    assert (result.error, result.cause) == ("Upstream.Down", "code 503")


def test_fail_without_error_has_no_error_name():
    result = run(chain(("F", {"Type": "Fail"})))
    assert (result.status, result.error, result.cause) == ("FAILED", None, None)


# -- Task ---------------------------------------------------------------------


def test_task_gets_effective_parameters_and_context():
    recorder = Recorder({"arn:work": lambda payload, ctx: {"echo": payload}})
    definition = chain(task(InputPath="$.in", Parameters={"v.$": "$.v", "k": "const"}))
    result = run(definition, {"in": {"v": 7}}, recorder, name="run-42")
    assert result.output == {"echo": {"v": 7, "k": "const"}}
    [only] = recorder.calls
    assert only.resource == "arn:work"
    assert (only.ctx.state_name, only.ctx.execution_name, only.ctx.attempt) == ("Work", "run-42", 0)
    assert only.ctx.timeout_s is None and not only.ctx.cancelled.is_set()


def test_task_timeout_seconds_path_reaches_the_context():
    recorder = Recorder()
    run(chain(task(TimeoutSecondsPath="$.t")), {"t": 30}, recorder)
    assert recorder.calls[0].ctx.timeout_s == 30


def test_invoker_cannot_mutate_execution_data():
    def mutate(payload, ctx):
        payload["list"].append("evil")
        return "ok"

    definition = chain(task(ResultPath="$.r"))
    result = run(definition, {"list": [1]}, Recorder({"arn:work": mutate}))
    assert result.output == {"list": [1], "r": "ok"}


def test_non_json_task_result_fails_the_execution():
    result = run(chain(task()), {}, Recorder({"arn:work": lambda p, c: {1, 2}}))
    assert (result.status, result.error) == ("FAILED", "States.Runtime")


# -- Map ----------------------------------------------------------------------


def test_map_results_keep_input_order_despite_completion_order():
    def slow_for_small(payload, ctx):
        time.sleep(0.01 * (5 - payload))
        return payload * 10

    definition = chain(map_state(iterator(task()), ItemsPath="$.xs", ResultPath="$.ys"))
    result = run(definition, {"xs": [0, 1, 2, 3, 4]}, Recorder({"arn:work": slow_for_small}))
    assert result.output == {"xs": [0, 1, 2, 3, 4], "ys": [0, 10, 20, 30, 40]}


def test_map_of_empty_array_is_empty():
    assert run(chain(map_state(iterator(task()))), []).output == []


def test_map_items_path_must_select_an_array():
    result = run(chain(map_state(iterator(task()), ItemsPath="$.xs")), {"xs": {"a": 1}})
    assert (result.status, result.error) == ("FAILED", "States.Runtime")


class ConcurrencyProbe:
    def __init__(self, hold: float = 0.05) -> None:
        self.lock = threading.Lock()
        self.active = 0
        self.peak = 0
        self.hold = hold

    def __call__(self, payload, ctx):
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        time.sleep(self.hold)
        with self.lock:
            self.active -= 1
        return payload


def test_map_max_concurrency_limits_concurrent_invocations():
    probe = ConcurrencyProbe()
    definition = chain(map_state(iterator(task()), MaxConcurrency=3))
    result = run(definition, list(range(10)), Recorder({"arn:work": probe}))
    assert result.output == list(range(10))
    assert probe.peak == 3


def test_map_max_concurrency_path_one_is_sequential():
    probe = ConcurrencyProbe(hold=0.01)
    definition = chain(map_state(iterator(task()), ItemsPath="$.xs", MaxConcurrencyPath="$.c"))
    run(definition, {"xs": list(range(5)), "c": 1}, Recorder({"arn:work": probe}))
    assert probe.peak == 1


def test_map_max_concurrency_zero_runs_all_iterations_at_once():
    barrier = threading.Barrier(8, timeout=5)

    def meet(payload, ctx):
        barrier.wait()  # raises BrokenBarrierError unless all 8 run concurrently
        return payload

    definition = chain(map_state(iterator(task()), MaxConcurrency=0))
    result = run(definition, list(range(8)), Recorder({"arn:work": meet}))
    assert result.status == "SUCCEEDED"


def test_map_failure_stops_launching_and_cancels_running_iterations():
    saw_cancel: list[int] = []
    started: list[int] = []
    lock = threading.Lock()

    def work(payload, ctx: TaskContext):
        with lock:
            started.append(payload)
        if payload == 1:
            time.sleep(0.05)
            raise StatesError("Item.Broken", f"item {payload}")
        if ctx.cancelled.wait(timeout=5):
            with lock:
                saw_cancel.append(payload)
        return payload

    definition = chain(map_state(iterator(task()), MaxConcurrency=2))
    result = run(definition, list(range(10)), Recorder({"arn:work": work}))
    assert (result.status, result.error, result.cause) == ("FAILED", "Item.Broken", "item 1")
    assert sorted(started) == [0, 1], "no iteration may start after the failure"
    deadline = time.monotonic() + 2
    while not saw_cancel and time.monotonic() < deadline:
        time.sleep(0.01)
    assert saw_cancel == [0]
    types = event_types(result)
    assert types.count("MapIterationStarted") == 2
    assert "MapIterationFailed" in types and "MapIterationAborted" in types
    assert types[-2:] == ["MapStateFailed", "ExecutionFailed"]


def test_map_failure_can_be_caught():
    def work(payload, ctx):
        if payload == 2:
            raise ValueError("bad item")
        return payload

    definition = chain(
        map_state(
            iterator(task()),
            ResultPath="$.out",
            Catch=[
                {"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.err", "Next": "Handled"}
            ],
            ItemsPath="$.xs",
        ),
        ("Handled", {"Type": "Pass"}),
    )
    result = run(definition, {"xs": [1, 2, 3]}, Recorder({"arn:work": work}))
    assert result.output == {
        "xs": [1, 2, 3],
        "err": {"Error": "States.TaskFailed", "Cause": "bad item"},
    }


def test_nested_map_with_choice_and_fail_inside():
    inner = iterator(
        (
            "Check",
            {
                "Type": "Choice",
                "Choices": [{"Variable": "$", "NumericGreaterThan": 100, "Next": "TooBig"}],
                "Default": "Double",
            },
        ),
        ("Double", {"Type": "Pass", "Parameters": {"v.$": "States.MathAdd($, $)"}, "End": True}),
        ("TooBig", {"Type": "Fail", "Error": "Value.TooBig"}),
    )
    outer = iterator(map_state(inner, ItemsPath="$"))
    definition = chain(("Outer", {"Type": "Map", "ItemProcessor": outer}))
    ok = run(definition, [[1, 2], [3]])
    assert ok.output == [[{"v": 2}, {"v": 4}], [{"v": 6}]]
    bad = run(definition, [[1], [500]])
    assert (bad.status, bad.error) == ("FAILED", "Value.TooBig")


# -- Parallel -------------------------------------------------------------------


def test_parallel_runs_branches_concurrently_and_orders_results_by_branch():
    barrier = threading.Barrier(3, timeout=5)

    def meet(payload, ctx):
        barrier.wait()
        return payload["branch"]

    branches = [iterator(task(Parameters={"branch": i, "input.$": "$.x"})) for i in range(3)]
    definition = chain(("Par", {"Type": "Parallel", "Branches": branches, "ResultPath": "$.r"}))
    result = run(definition, {"x": 1}, Recorder({"arn:work": meet}))
    assert result.output == {"x": 1, "r": [0, 1, 2]}


def test_parallel_branch_failure_fails_the_state_with_the_branch_error():
    def work(payload, ctx):
        if payload == "bad":
            raise StatesError("Branch.Error", "nope")
        ctx.cancelled.wait(timeout=5)
        return payload

    branches = [iterator(task(Parameters={"v": "good"})), iterator(task(Parameters={"v": "bad"}))]
    recorder = Recorder({"arn:work": lambda p, c: work(p["v"], c)})
    result = run(chain(("Par", {"Type": "Parallel", "Branches": branches})), {}, recorder)
    assert (result.status, result.error) == ("FAILED", "Branch.Error")
    assert "ParallelStateFailed" in event_types(result)


# -- history ------------------------------------------------------------------


def test_history_event_types_and_states_entered():
    definition = chain(
        ("Start", {"Type": "Pass"}),
        # One at a time, so that the interleaving of iteration events is fixed.
        map_state(iterator(("Inner", {"Type": "Pass"})), MaxConcurrency=1),
        ("Done", {"Type": "Succeed"}),
    )
    events = []
    result = run(definition, [1, 2], on_event=events.append)
    assert events == result.history
    assert states_entered(result.history) == ["Start", "M", "Inner", "Inner", "Done"]
    assert event_types(result) == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "MapStateEntered",
        "MapStateStarted",
        "MapIterationStarted",
        "PassStateEntered",
        "PassStateExited",
        "MapIterationSucceeded",
        "MapIterationStarted",
        "PassStateEntered",
        "PassStateExited",
        "MapIterationSucceeded",
        "MapStateSucceeded",
        "MapStateExited",
        "SucceedStateEntered",
        "SucceedStateExited",
        "ExecutionSucceeded",
    ]


def test_history_of_a_task():
    result = run(chain(task()), {"a": 1})
    assert event_types(result) == [
        "ExecutionStarted",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]
    scheduled = result.history[2]
    assert scheduled.state_name == "Work"
    assert scheduled.details["resource"] == "arn:work"
    assert scheduled.details["parameters"] == '{"a":1}'


def test_oversized_state_output_fails_with_data_limit_exceeded():
    definition = chain(
        (
            "Big",
            {
                "Type": "Task",
                "Resource": "arn:work",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "C"}],
            },
        ),
        ("C", {"Type": "Succeed"}),
    )
    result = run(definition, {}, Recorder({"arn:work": lambda p, c: "x" * 300_000}))
    assert (result.status, result.error) == ("FAILED", "States.DataLimitExceeded")
