"""Shared helpers for the ASL interpreter tests (a plain module: tests/ has no package)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chalicelib.asl import ExecutionResult, Executor, TaskContext


def chain(*states: tuple[str, dict[str, Any]], **top: Any) -> dict[str, Any]:
    """A definition whose states run in the given order; the last one ends."""
    body: dict[str, Any] = {}
    for index, (name, state) in enumerate(states):
        state = dict(state)
        if (
            state["Type"] not in ("Choice", "Succeed", "Fail")
            and "Next" not in state
            and "End" not in state
        ):
            if index + 1 < len(states):
                state["Next"] = states[index + 1][0]
            else:
                state["End"] = True
        body[name] = state
    return {"StartAt": states[0][0], "States": body, **top}


@dataclass
class Call:
    resource: str
    payload: Any
    ctx: TaskContext


@dataclass
class Recorder:
    """A task invoker that records calls and delegates to a per-resource handler."""

    handlers: dict[str, Callable[[Any, TaskContext], Any]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, resource: str, payload: Any, ctx: TaskContext) -> Any:
        with self.lock:
            self.calls.append(Call(resource, payload, ctx))
        handler = self.handlers.get(resource)
        if handler is None:
            return payload
        return handler(payload, ctx)

    def payloads(self, resource: str | None = None) -> list[Any]:
        with self.lock:
            return [c.payload for c in self.calls if resource is None or c.resource == resource]


def run(
    definition: dict[str, Any] | str,
    data: Any = None,
    invoke: Callable[[str, Any, TaskContext], Any] | None = None,
    **options: Any,
) -> ExecutionResult:
    name = options.pop("name", "test-run")
    executor = Executor(definition, invoke or Recorder(), **options)
    return executor.execute({} if data is None else data, name=name)


def event_types(result: ExecutionResult) -> list[str]:
    return [event.type for event in result.history]
