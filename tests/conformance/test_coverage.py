"""The conformance cases must exercise every construct the local executor accepts.

Coverage is computed from the case definitions themselves (state types and their fields, Choice
operators, intrinsic functions, Retry/Catch fields), against the executor's own tables, so a
construct added to chalicelib/asl fails this test until a case runs it on both engines, or it is
listed below with the reason it cannot be compared with moto.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from chalicelib.asl.choice import COMPARISON_OPERATORS
from chalicelib.asl.definition import _ALLOWED_FIELDS
from chalicelib.asl.intrinsics import _FUNCTIONS
from tests.conformance.cases import CASES
from tests.conformance.test_moto_differences import DIFFERENCES

NOT_COMPARED = {
    "Task.HeartbeatSeconds": "moto does not enforce it on .sync integrations (a 3 s Batch job with "
                             "HeartbeatSeconds=1 completes), and moto has no activity worker here",
    "Task.HeartbeatSecondsPath": "as HeartbeatSeconds",
    "Task.Credentials": "cross-account role assumption: nothing to assume under moto or locally",
    "Map.Label": "a distributed-Map child-execution label; inline Maps ignore it",
    "Retry.JitterStrategy=FULL": "random back-off by design; NONE is compared",
}
_RETRY_FIELDS = {"ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate", "MaxDelaySeconds", "JitterStrategy"}
_CATCH_FIELDS = {"ErrorEquals", "ResultPath", "Next"}
_TOP_FIELDS = {"StartAt", "States", "Comment", "TimeoutSeconds"}


def _states(machine: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for state in machine["States"].values():
        yield state
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                yield from _states(state[key])
        for branch in state.get("Branches", []):
            yield from _states(branch)


def _rules(rules: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for rule in rules:
        yield rule
        yield from _rules(rule.get("And", []) + rule.get("Or", []) + ([rule["Not"]] if "Not" in rule else []))


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _used() -> set[str]:
    used: set[str] = set()
    for definition in [c.definition for c in CASES] + [d.definition for d in DIFFERENCES]:
        used |= {f"top.{k}" for k in definition}
        for state in _states(definition):
            used.add(state["Type"])
            used |= {f"{state['Type']}.{k}" for k in state}
            for retrier in state.get("Retry", []):
                used |= {f"Retry.{k}" for k in retrier}
            for catcher in state.get("Catch", []):
                used |= {f"Catch.{k}" for k in catcher}
            for rule in _rules(state.get("Choices", [])):
                used |= {k for k in rule if k in COMPARISON_OPERATORS or k in ("And", "Or", "Not")}
        for text in _strings(definition):
            used |= set(re.findall(r"States\.[A-Za-z0-9]+(?=\()", text))
            if text.startswith("$$."):
                used.add("context object")
    return used


def test_every_construct_of_the_local_executor_runs_on_both_engines() -> None:
    wanted = {f"top.{k}" for k in _TOP_FIELDS} | set(_ALLOWED_FIELDS)
    wanted |= {f"{kind}.{field}" for kind, fields in _ALLOWED_FIELDS.items() for field in fields}
    wanted |= {f"Retry.{k}" for k in _RETRY_FIELDS} | {f"Catch.{k}" for k in _CATCH_FIELDS}
    wanted |= set(COMPARISON_OPERATORS) | {"And", "Or", "Not"} | set(_FUNCTIONS) | {"context object"}
    missing = wanted - _used() - {k.split("=")[0] for k in NOT_COMPARED}
    assert not missing, f"constructs no conformance case runs: {sorted(missing)}"
