"""Execution history events, named as in AWS GetExecutionHistory."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class HistoryEvent:
    """One event; ``details`` uses AWS's camelCase keys, payloads as JSON text."""

    type: str  # e.g. "TaskStateEntered", "MapIterationStarted", "ExecutionFailed"
    state_name: str | None
    timestamp: float  # seconds since the epoch
    details: dict[str, Any] = field(default_factory=dict)


def states_entered(history: Iterable[HistoryEvent]) -> list[str]:
    """Names of the states entered, in history order, including Map/Parallel branches.

    Iterations and branches run concurrently, so compare their part as a
    multiset (or sort) when checking against another engine's history.
    """
    return [
        event.state_name
        for event in history
        if event.type.endswith("StateEntered") and event.state_name is not None
    ]
