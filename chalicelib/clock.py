"""Time as an input: every wall-clock reading ("now") of the pipeline comes from one clock.

The runtime carries it (``Runtime.clock``, default the system clock) and hands it to the
adapters that stamp times (ledger, local compute, local workflow). Whatever compares one
stamp with "now" (the verifier's freshness and stuck-run checks, the reaper's job limits, the
ingest lease) then sees a single timeline, so a test sets that timeline instead of writing a
calendar date that the real clock overtakes.

Durations (budgets, timeouts, back-offs) stay on ``time.monotonic``: they measure elapsed
time, never a date, and must not jump when the wall clock does.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from datetime import UTC, datetime


class Clock(ABC):
    @abstractmethod
    def now(self) -> float:
        """Seconds since the epoch (UTC)."""

    def utcnow(self) -> datetime:
        """The same instant as an aware UTC datetime."""
        return datetime.fromtimestamp(self.now(), UTC)


class SystemClock(Clock):
    def now(self) -> float:
        return time.time()

    def __repr__(self) -> str:
        return "SystemClock()"


class ManualClock(Clock):
    """A clock that moves only when told: tests set "now" and advance it past a limit."""

    def __init__(self, start: float | datetime) -> None:
        self._lock = threading.Lock()
        self._now = _epoch(start)

    def now(self) -> float:
        with self._lock:
            return self._now

    def set(self, when: float | datetime) -> None:
        with self._lock:
            self._now = _epoch(when)

    def advance(self, seconds: float) -> float:
        """Move forward (never back: a stamp taken earlier must stay in the past); the new now."""
        if seconds < 0:
            raise ValueError(f"a clock does not run backwards: advance({seconds})")
        with self._lock:
            self._now += seconds
            return self._now

    def __repr__(self) -> str:
        return f"ManualClock({self.utcnow().isoformat()})"


SYSTEM_CLOCK: Clock = SystemClock()


def _epoch(when: float | datetime) -> float:
    if isinstance(when, datetime):
        if when.tzinfo is None:
            raise ValueError(f"a naive datetime has no instant: {when!r} (give it a timezone)")
        return when.timestamp()
    return float(when)
