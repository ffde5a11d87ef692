"""Loading and validating a state machine definition into compiled state objects.

Validation mirrors what AWS rejects at CreateStateMachine time (unknown fields,
missing or dangling transitions, unreachable states, malformed paths, retriers
and choice rules), so that a definition that loads here would also load there.
Constructs this interpreter does not run (JSONata, variables, distributed Map
features) are refused with a DefinitionError rather than silently ignored.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .choice import Predicate, compile_rule, parse_timestamp
from .errors import ALL, DefinitionError
from .paths import (
    ROOT,
    DynamicValue,
    Path,
    Template,
    compile_optional_path,
    compile_path,
    compile_reference_path,
)

_COMMON = {"Type", "Comment"}
_IO = {"InputPath", "OutputPath"}
_FLOW = {"Next", "End"}
_RESULT = {"ResultPath", "ResultSelector", "Retry", "Catch"}

_ALLOWED_FIELDS: dict[str, set[str]] = {
    "Pass": _COMMON | _IO | _FLOW | {"Result", "ResultPath", "Parameters"},
    "Task": _COMMON
    | _IO
    | _FLOW
    | _RESULT
    | {
        "Resource",
        "Parameters",
        "TimeoutSeconds",
        "TimeoutSecondsPath",
        "HeartbeatSeconds",
        "HeartbeatSecondsPath",
        "Credentials",
    },
    "Choice": _COMMON | _IO | {"Choices", "Default"},
    "Wait": _COMMON | _IO | _FLOW | {"Seconds", "SecondsPath", "Timestamp", "TimestampPath"},
    "Succeed": _COMMON | _IO,
    "Fail": _COMMON | {"Error", "ErrorPath", "Cause", "CausePath"},
    "Parallel": _COMMON | _IO | _FLOW | _RESULT | {"Branches", "Parameters"},
    "Map": _COMMON
    | _IO
    | _FLOW
    | _RESULT
    | {
        "Iterator",
        "ItemProcessor",
        "ItemsPath",
        "ItemSelector",
        "Parameters",
        "MaxConcurrency",
        "MaxConcurrencyPath",
        "Label",
    },
}

# Valid ASL that this interpreter deliberately does not execute.
_UNSUPPORTED_FIELDS = {
    "QueryLanguage": "JSONata",
    "Arguments": "JSONata",
    "Output": "JSONata",
    "Assign": "workflow variables",
    "ItemReader": "distributed Map",
    "ItemBatcher": "distributed Map",
    "ResultWriter": "distributed Map",
    "ToleratedFailurePercentage": "distributed Map",
    "ToleratedFailurePercentagePath": "distributed Map",
    "ToleratedFailureCount": "distributed Map",
    "ToleratedFailureCountPath": "distributed Map",
}

# Effectively unbounded: AWS caps an inline Map at 40 concurrent iterations.
INLINE_MAP_CONCURRENCY_CAP = 40


@dataclass(frozen=True)
class Retrier:
    error_equals: tuple[str, ...]
    interval_s: float = 1.0
    max_attempts: int = 3
    backoff_rate: float = 2.0
    max_delay_s: float | None = None
    jitter: str = "NONE"


@dataclass(frozen=True)
class Catcher:
    error_equals: tuple[str, ...]
    next: str
    result_path: Path | None = ROOT


@dataclass
class State:
    name: str
    type: str
    next: str | None = None  # None with end=True, or for Choice/Succeed/Fail
    end: bool = False
    input_path: Path | None = ROOT
    output_path: Path | None = ROOT


@dataclass
class PassState(State):
    parameters: Template | None = None
    has_result: bool = False
    result: Any = None
    result_path: Path | None = ROOT


@dataclass
class RetryableState(State):
    """Fields shared by the states that can Retry/Catch: Task, Map, Parallel."""

    parameters: Template | None = None
    result_selector: Template | None = None
    result_path: Path | None = ROOT
    retry: tuple[Retrier, ...] = ()
    catch: tuple[Catcher, ...] = ()


@dataclass
class TaskState(RetryableState):
    resource: str = ""
    timeout_s: int | None = None
    timeout_path: Path | None = None
    heartbeat_s: int | None = None
    heartbeat_path: Path | None = None


@dataclass
class ChoiceState(State):
    choices: tuple[tuple[Predicate, str], ...] = ()
    default: str | None = None


@dataclass
class WaitState(State):
    seconds: int | None = None
    seconds_path: Path | None = None
    timestamp: str | None = None
    timestamp_path: Path | None = None


@dataclass
class SucceedState(State):
    pass


@dataclass
class FailState(State):
    error: str | None = None
    error_value: DynamicValue | None = None
    cause: str | None = None
    cause_value: DynamicValue | None = None


@dataclass
class MapState(RetryableState):
    # ``parameters`` is unused here: for Map, legacy Parameters is ItemSelector.
    items_path: Path = ROOT
    item_selector: Template | None = None
    processor: Machine | None = None
    max_concurrency: int = 0
    max_concurrency_path: Path | None = None


@dataclass
class ParallelState(RetryableState):
    branches: tuple[Machine, ...] = ()


@dataclass
class Machine:
    """A StartAt/States graph: the whole machine, a Parallel branch or a Map processor."""

    start_at: str
    states: dict[str, State] = field(default_factory=dict)
    timeout_s: int | None = None


def load(definition: Mapping[str, Any] | str) -> Machine:
    """Parse and validate a definition (a dict or its JSON text)."""
    if isinstance(definition, (str, bytes)):
        try:
            definition = json.loads(definition)
        except ValueError as exc:
            raise DefinitionError(f"the definition is not valid JSON: {exc}") from None
    if not isinstance(definition, Mapping):
        raise DefinitionError("the definition must be a JSON object")
    top = dict(definition)
    query_language = top.pop("QueryLanguage", "JSONPath")
    if query_language != "JSONPath":
        raise DefinitionError(f"QueryLanguage {query_language!r} is not supported (JSONPath only)")
    machine = _load_machine(top, "", {"StartAt", "States", "Comment", "Version", "TimeoutSeconds"})
    if "TimeoutSeconds" in top:
        machine.timeout_s = _positive_int(top["TimeoutSeconds"], "/TimeoutSeconds")
    version = top.get("Version", "1.0")
    if version != "1.0":
        raise DefinitionError(f"/Version: unsupported version {version!r}")
    return machine


def _load_machine(raw: Any, where: str, allowed: set[str]) -> Machine:
    if not isinstance(raw, Mapping):
        raise DefinitionError(f"{where or '/'}: expected a JSON object")
    extra = sorted(set(raw) - allowed)
    if extra:
        raise DefinitionError(f"{where or '/'}: unexpected field(s) {extra}")
    start_at = raw.get("StartAt")
    if not isinstance(start_at, str):
        raise DefinitionError(f"{where}/StartAt: a StartAt state name is required")
    raw_states = raw.get("States")
    if not isinstance(raw_states, Mapping) or not raw_states:
        raise DefinitionError(f"{where}/States: a non-empty States object is required")
    machine = Machine(start_at=start_at)
    for name, body in raw_states.items():
        if not isinstance(name, str) or not 0 < len(name) <= 80:
            raise DefinitionError(f"{where}/States: state names must be 1 to 80 characters")
        machine.states[name] = _load_state(name, body, f"{where}/States/{name}")
    _check_graph(machine, where)
    return machine


def _transitions(state: State) -> list[tuple[str, str]]:
    """(target, field) pairs for every transition out of ``state``."""
    targets: list[tuple[str, str]] = []
    if state.next is not None:
        targets.append((state.next, "Next"))
    if isinstance(state, ChoiceState):
        targets += [(target, f"Choices[{i}]/Next") for i, (_, target) in enumerate(state.choices)]
        if state.default is not None:
            targets.append((state.default, "Default"))
    if isinstance(state, RetryableState):
        targets += [(c.next, f"Catch[{i}]/Next") for i, c in enumerate(state.catch)]
    return targets


def _check_graph(machine: Machine, where: str) -> None:
    if machine.start_at not in machine.states:
        raise DefinitionError(
            f"MISSING_TRANSITION_TARGET: Missing 'Next' target: {machine.start_at} at {where}/StartAt"
        )
    for state in machine.states.values():
        for target, via in _transitions(state):
            if target not in machine.states:
                raise DefinitionError(
                    f"MISSING_TRANSITION_TARGET: Missing 'Next' target: {target} "
                    f"at {where}/States/{state.name}/{via}"
                )
    reached = {machine.start_at}
    pending = [machine.start_at]
    while pending:
        for target, _ in _transitions(machine.states[pending.pop()]):
            if target not in reached:
                reached.add(target)
                pending.append(target)
    for name in machine.states:
        if name not in reached:
            raise DefinitionError(
                f'MISSING_TRANSITION_TARGET: State "{name}" is not reachable. at {where}/States/{name}'
            )
    terminal = (SucceedState, FailState)
    if not any(s.end or isinstance(s, terminal) for s in machine.states.values()):
        raise DefinitionError(f"{where or '/'}: no terminal state (End, Succeed or Fail)")


def _load_state(name: str, raw: Any, where: str) -> State:
    if not isinstance(raw, Mapping):
        raise DefinitionError(f"{where}: a state must be a JSON object")
    kind = raw.get("Type")
    if kind not in _ALLOWED_FIELDS:
        raise DefinitionError(f"{where}/Type: unknown state type {kind!r}")
    for key in raw:
        if key in _UNSUPPORTED_FIELDS and not (key == "QueryLanguage" and raw[key] == "JSONPath"):
            raise DefinitionError(
                f"{where}/{key}: {_UNSUPPORTED_FIELDS[key]} is not supported by the local interpreter"
            )
    extra = sorted(set(raw) - _ALLOWED_FIELDS[kind] - {"QueryLanguage"})
    if extra:
        raise DefinitionError(f"{where}: field(s) {extra} are not valid in a {kind} state")
    if "Comment" in raw and not isinstance(raw["Comment"], str):
        raise DefinitionError(f"{where}/Comment must be a string")
    loader = {
        "Pass": _load_pass,
        "Task": _load_task,
        "Choice": _load_choice,
        "Wait": _load_wait,
        "Succeed": _load_succeed,
        "Fail": _load_fail,
        "Parallel": _load_parallel,
        "Map": _load_map,
    }[kind]
    return loader(name, raw, where)


def _base(name: str, kind: str, raw: Mapping[str, Any], where: str) -> dict[str, Any]:
    fields: dict[str, Any] = {"name": name, "type": kind}
    if "InputPath" in raw:
        fields["input_path"] = compile_optional_path(raw["InputPath"], field=f"{where}/InputPath")
    if "OutputPath" in raw:
        fields["output_path"] = compile_optional_path(
            raw["OutputPath"], field=f"{where}/OutputPath"
        )
    if "Next" in _ALLOWED_FIELDS[kind]:
        has_next, end = "Next" in raw, raw.get("End", False)
        if end is not True and end is not False:
            raise DefinitionError(f"{where}/End must be a boolean")
        if has_next == end:
            raise DefinitionError(f"{where}: exactly one of 'Next' or 'End: true' is required")
        if has_next:
            if not isinstance(raw["Next"], str):
                raise DefinitionError(f"{where}/Next must be a state name")
            fields["next"] = raw["Next"]
        fields["end"] = end
    return fields


def _result_path(raw: Mapping[str, Any], where: str) -> dict[str, Any]:
    if "ResultPath" not in raw:
        return {}
    value = raw["ResultPath"]
    if value is None:
        return {"result_path": None}
    if not isinstance(value, str):
        raise DefinitionError(f"{where}/ResultPath must be a string or null")
    try:
        return {"result_path": compile_reference_path(value, field=f"{where}/ResultPath")}
    except DefinitionError as exc:
        raise DefinitionError(f"{where}/ResultPath: {exc}") from None


def _template(raw: Mapping[str, Any], key: str, where: str) -> Template | None:
    if key not in raw:
        return None
    return Template(raw[key], field=f"{where}/{key}")


def _resilient(raw: Mapping[str, Any], where: str) -> dict[str, Any]:
    fields = _result_path(raw, where)
    fields["result_selector"] = _template(raw, "ResultSelector", where)
    fields["retry"] = _load_retriers(raw.get("Retry", []), f"{where}/Retry")
    fields["catch"] = _load_catchers(raw.get("Catch", []), f"{where}/Catch")
    return fields


def _error_equals(raw: Mapping[str, Any], where: str, is_last: bool) -> tuple[str, ...]:
    names = raw.get("ErrorEquals")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise DefinitionError(f"{where}/ErrorEquals must be a non-empty array of error names")
    if ALL in names and (len(names) > 1 or not is_last):
        raise DefinitionError(
            f"{where}/ErrorEquals: States.ALL must appear alone, in the last element of the array"
        )
    return tuple(names)


def _load_retriers(raw: Any, where: str) -> tuple[Retrier, ...]:
    if not isinstance(raw, list):
        raise DefinitionError(f"{where} must be an array")
    retriers = []
    for i, item in enumerate(raw):
        at = f"{where}[{i}]"
        if not isinstance(item, Mapping):
            raise DefinitionError(f"{at} must be a JSON object")
        allowed = {
            "ErrorEquals",
            "IntervalSeconds",
            "MaxAttempts",
            "BackoffRate",
            "MaxDelaySeconds",
            "JitterStrategy",
            "Comment",
        }
        extra = sorted(set(item) - allowed)
        if extra:
            raise DefinitionError(f"{at}: unexpected field(s) {extra}")
        interval = _positive_int(item.get("IntervalSeconds", 1), f"{at}/IntervalSeconds")
        attempts = item.get("MaxAttempts", 3)
        if not _is_int(attempts) or attempts < 0:
            raise DefinitionError(f"{at}/MaxAttempts must be a non-negative integer")
        backoff = item.get("BackoffRate", 2.0)
        if not _is_number(backoff) or backoff < 1.0:
            raise DefinitionError(f"{at}/BackoffRate must be a number >= 1.0")
        max_delay = None
        if "MaxDelaySeconds" in item:
            max_delay = _positive_int(item["MaxDelaySeconds"], f"{at}/MaxDelaySeconds")
        jitter = item.get("JitterStrategy", "NONE")
        if jitter not in ("FULL", "NONE"):
            raise DefinitionError(f"{at}/JitterStrategy must be FULL or NONE")
        retriers.append(
            Retrier(
                error_equals=_error_equals(item, at, i == len(raw) - 1),
                interval_s=float(interval),
                max_attempts=int(attempts),
                backoff_rate=float(backoff),
                max_delay_s=None if max_delay is None else float(max_delay),
                jitter=jitter,
            )
        )
    return tuple(retriers)


def _load_catchers(raw: Any, where: str) -> tuple[Catcher, ...]:
    if not isinstance(raw, list):
        raise DefinitionError(f"{where} must be an array")
    catchers = []
    for i, item in enumerate(raw):
        at = f"{where}[{i}]"
        if not isinstance(item, Mapping):
            raise DefinitionError(f"{at} must be a JSON object")
        extra = sorted(set(item) - {"ErrorEquals", "Next", "ResultPath", "Comment"})
        if extra:
            raise DefinitionError(f"{at}: unexpected field(s) {extra}")
        if not isinstance(item.get("Next"), str):
            raise DefinitionError(f"{at}/Next: a catcher needs a Next state name")
        catchers.append(
            Catcher(
                error_equals=_error_equals(item, at, i == len(raw) - 1),
                next=item["Next"],
                **_result_path(item, at),
            )
        )
    return tuple(catchers)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _positive_int(value: Any, where: str) -> int:
    if not _is_int(value) or value <= 0:
        raise DefinitionError(f"{where} must be a positive integer")
    return int(value)


def _path_field(raw: Mapping[str, Any], key: str, where: str) -> Path | None:
    if key not in raw:
        return None
    value = raw[key]
    if not isinstance(value, str):
        raise DefinitionError(f"{where}/{key} must be a path string")
    try:
        return compile_path(value)
    except DefinitionError as exc:
        raise DefinitionError(f"{where}/{key}: {exc}") from None


def _exclusive(
    raw: Mapping[str, Any], keys: tuple[str, ...], where: str, *, required: bool
) -> None:
    present = [key for key in keys if key in raw]
    if len(present) > 1 or (required and not present):
        wanted = "exactly one" if required else "at most one"
        raise DefinitionError(f"{where}: {wanted} of {list(keys)} is allowed")


def _load_pass(name: str, raw: Mapping[str, Any], where: str) -> State:
    return PassState(
        **_base(name, "Pass", raw, where),
        **_result_path(raw, where),
        parameters=_template(raw, "Parameters", where),
        has_result="Result" in raw,
        result=raw.get("Result"),
    )


def _load_task(name: str, raw: Mapping[str, Any], where: str) -> State:
    resource = raw.get("Resource")
    if not isinstance(resource, str) or not resource:
        raise DefinitionError(f"{where}/Resource: a Task needs a Resource string")
    _exclusive(raw, ("TimeoutSeconds", "TimeoutSecondsPath"), where, required=False)
    _exclusive(raw, ("HeartbeatSeconds", "HeartbeatSecondsPath"), where, required=False)
    timeout = heartbeat = None
    if "TimeoutSeconds" in raw:
        timeout = _positive_int(raw["TimeoutSeconds"], f"{where}/TimeoutSeconds")
    if "HeartbeatSeconds" in raw:
        heartbeat = _positive_int(raw["HeartbeatSeconds"], f"{where}/HeartbeatSeconds")
    if timeout is not None and heartbeat is not None and heartbeat >= timeout:
        raise DefinitionError(f"{where}: HeartbeatSeconds must be smaller than TimeoutSeconds")
    return TaskState(
        **_base(name, "Task", raw, where),
        **_resilient(raw, where),
        parameters=_template(raw, "Parameters", where),
        resource=resource,
        timeout_s=timeout,
        timeout_path=_path_field(raw, "TimeoutSecondsPath", where),
        heartbeat_s=heartbeat,
        heartbeat_path=_path_field(raw, "HeartbeatSecondsPath", where),
    )


def _load_choice(name: str, raw: Mapping[str, Any], where: str) -> State:
    rules = raw.get("Choices")
    if not isinstance(rules, list) or not rules:
        raise DefinitionError(f"{where}/Choices must be a non-empty array")
    choices = tuple(
        (compile_rule(rule, f"{where}/Choices[{i}]", top_level=True), rule["Next"])
        for i, rule in enumerate(rules)
    )
    default = raw.get("Default")
    if default is not None and not isinstance(default, str):
        raise DefinitionError(f"{where}/Default must be a state name")
    return ChoiceState(**_base(name, "Choice", raw, where), choices=choices, default=default)


def _load_wait(name: str, raw: Mapping[str, Any], where: str) -> State:
    _exclusive(raw, ("Seconds", "SecondsPath", "Timestamp", "TimestampPath"), where, required=True)
    seconds = raw.get("Seconds")
    if seconds is not None and (not _is_int(seconds) or seconds < 0):
        raise DefinitionError(f"{where}/Seconds must be a non-negative integer")
    timestamp = raw.get("Timestamp")
    if "Timestamp" in raw and parse_timestamp(timestamp) is None:
        raise DefinitionError(f"{where}/Timestamp: {timestamp!r} is not an RFC 3339 timestamp")
    return WaitState(
        **_base(name, "Wait", raw, where),
        seconds=seconds,
        seconds_path=_path_field(raw, "SecondsPath", where),
        timestamp=timestamp,
        timestamp_path=_path_field(raw, "TimestampPath", where),
    )


def _load_succeed(name: str, raw: Mapping[str, Any], where: str) -> State:
    return SucceedState(**_base(name, "Succeed", raw, where))


def _load_fail(name: str, raw: Mapping[str, Any], where: str) -> State:
    _exclusive(raw, ("Error", "ErrorPath"), where, required=False)
    _exclusive(raw, ("Cause", "CausePath"), where, required=False)
    fields: dict[str, Any] = {}
    for key, attr in (("Error", "error"), ("Cause", "cause")):
        if key in raw:
            if not isinstance(raw[key], str):
                raise DefinitionError(f"{where}/{key} must be a string")
            fields[attr] = raw[key]
        if f"{key}Path" in raw:
            text = raw[f"{key}Path"]
            if not isinstance(text, str):
                raise DefinitionError(f"{where}/{key}Path must be a string")
            fields[f"{attr}_value"] = DynamicValue(text, field=f"{key}Path")
    return FailState(**_base(name, "Fail", raw, where), **fields)


def _load_parallel(name: str, raw: Mapping[str, Any], where: str) -> State:
    branches = raw.get("Branches")
    if not isinstance(branches, list) or not branches:
        raise DefinitionError(f"{where}/Branches must be a non-empty array")
    return ParallelState(
        **_base(name, "Parallel", raw, where),
        **_resilient(raw, where),
        parameters=_template(raw, "Parameters", where),
        branches=tuple(
            _load_machine(branch, f"{where}/Branches[{i}]", {"StartAt", "States", "Comment"})
            for i, branch in enumerate(branches)
        ),
    )


def _load_map(name: str, raw: Mapping[str, Any], where: str) -> State:
    _exclusive(raw, ("Iterator", "ItemProcessor"), where, required=True)
    _exclusive(raw, ("ItemSelector", "Parameters"), where, required=False)
    _exclusive(raw, ("MaxConcurrency", "MaxConcurrencyPath"), where, required=False)
    if "ItemProcessor" in raw:
        body = raw["ItemProcessor"]
        at = f"{where}/ItemProcessor"
        if isinstance(body, Mapping):
            config = body.get("ProcessorConfig", {})
            if not isinstance(config, Mapping):
                raise DefinitionError(f"{at}/ProcessorConfig must be a JSON object")
            mode = config.get("Mode", "INLINE")
            if mode != "INLINE":
                raise DefinitionError(
                    f"{at}/ProcessorConfig/Mode: {mode!r} is not supported by the local interpreter"
                )
            extra = sorted(set(config) - {"Mode", "ExecutionType"})
            if extra:
                raise DefinitionError(f"{at}/ProcessorConfig: unexpected field(s) {extra}")
        processor = _load_machine(body, at, {"StartAt", "States", "Comment", "ProcessorConfig"})
    else:
        processor = _load_machine(
            raw["Iterator"], f"{where}/Iterator", {"StartAt", "States", "Comment"}
        )
    concurrency = raw.get("MaxConcurrency", 0)
    if not _is_int(concurrency) or concurrency < 0:
        raise DefinitionError(f"{where}/MaxConcurrency must be a non-negative integer")
    items_path = _path_field(raw, "ItemsPath", where) or ROOT
    selector_key = "ItemSelector" if "ItemSelector" in raw else "Parameters"
    return MapState(
        **_base(name, "Map", raw, where),
        **_resilient(raw, where),
        items_path=items_path,
        item_selector=_template(raw, selector_key, where),
        processor=processor,
        max_concurrency=concurrency,
        max_concurrency_path=_path_field(raw, "MaxConcurrencyPath", where),
    )
