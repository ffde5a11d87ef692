"""The workflow port: start one execution per run id, and ask how it went."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Literal

# The error of a local execution whose orchestrator process died (chalicelib/workflow/local.py).
ORCHESTRATOR_DIED = "newsops.OrchestratorDied"

ExecutionStatus = Literal["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]


@dataclass
class Execution:
    name: str  # the run id
    status: ExecutionStatus
    started: float | None = None
    stopped: float | None = None
    output: Any = None
    error: str | None = None
    cause: str | None = None
    states_entered: list[str] | None = None


class Workflow(ABC):
    @abstractmethod
    def start(self, run_id: str, payload: dict[str, Any]) -> Execution:
        """Start the execution named ``run_id``; an existing one with that name is not an error.

        The local backend runs it to the end before returning; Step Functions returns at once.
        """

    @abstractmethod
    def describe(self, run_id: str) -> Execution | None: ...
