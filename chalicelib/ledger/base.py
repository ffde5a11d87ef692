"""The run ledger and crawl-state port: SQLite locally, DynamoDB on AWS."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Literal

from chalicelib.clock import SYSTEM_CLOCK

RunState = Literal["CLAIMED", "RUNNING", "SUCCEEDED", "FAILED"]
TERMINAL_STATES: frozenset[str] = frozenset({"SUCCEEDED", "FAILED"})


@dataclass
class RunRecord:
    run_id: str
    input_key: str
    etag: str
    state: RunState = "CLAIMED"
    # The system clock only for a record made outside a runtime; ingest stamps its runtime's.
    created: float = field(default_factory=SYSTEM_CLOCK.now)
    updated: float = field(default_factory=SYSTEM_CLOCK.now)
    ended: float | None = None
    verdict: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def attempt(self) -> int:
        """1 for the run as ingest started it; 2, 3, ... for each retry (chalicelib/retry.py)."""
        return int(self.detail.get("attempt", 1))

    @property
    def execution(self) -> str:
        """The workflow execution of the current attempt: the run id, or ``<run id>-r<N>``."""
        return str(self.detail.get("execution") or self.run_id)


class Ledger(ABC):
    @abstractmethod
    def claim_run(self, record: RunRecord) -> bool:
        """Create the run record unless it exists (conditional write). True for the claimer only."""

    @abstractmethod
    def take_over_claim(self, run_id: str, *, claimed_before: float) -> bool:
        """Renew a claim that is still CLAIMED and was last updated before ``claimed_before``
        (its claimer died before starting the run). Conditional: one taker wins."""

    @abstractmethod
    def release_claim(self, run_id: str) -> bool:
        """Make a run that is not yet started (CLAIMED, or RUNNING without an execution) free to
        take over at once: CLAIMED, last updated at 0. False when the run is over or unknown."""

    @abstractmethod
    def reopen_run(self, run_id: str, *, attempt: int, execution: str,
                   previous: dict[str, Any]) -> bool:
        """Start attempt ``attempt`` (2, 3, ...) of a run that is not SUCCEEDED and whose current
        attempt is ``attempt - 1``: RUNNING again, verdict and end cleared, ``previous`` (the
        summary of the attempt that ended) appended to ``detail["attempts"]``, and
        ``detail["attempt"]`` / ``detail["execution"]`` set. Conditional on the attempt number,
        so of two retries of one run exactly one starts. False when the condition fails."""

    @abstractmethod
    def update_run(self, run_id: str, **fields: Any) -> RunRecord:
        """Set fields (state, verdict, ended, detail entries merged); KeyError for an unknown run."""

    @abstractmethod
    def get_run(self, run_id: str) -> RunRecord | None: ...

    @abstractmethod
    def list_runs(
        self, *, state: str | None = None, limit: int = 50, before: float | None = None
    ) -> list[RunRecord]:
        """Newest first; ``before`` (a created time) pages backwards."""

    @abstractmethod
    def get_state(self, namespace: str, key: str) -> dict[str, Any] | None:
        """Small documents of other components (crawl state, verifier findings)."""

    @abstractmethod
    def put_state(self, namespace: str, key: str, value: dict[str, Any]) -> None: ...

    @abstractmethod
    def list_state(self, namespace: str) -> list[tuple[str, dict[str, Any]]]: ...
