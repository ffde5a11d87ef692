"""The alerts port: a short subject for a pager, a structured body for the person who acts."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Severity = Literal["info", "warning", "error", "resolved"]


@dataclass
class Alert:
    subject: str
    severity: Severity
    reason: str
    run_id: str | None = None
    stage: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    look_at: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    time: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        # SNS subjects are limited to 100 characters, single line.
        self.subject = " ".join(self.subject.split())[:100]

    def body(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, [], {})}


class AlertSink(ABC):
    @abstractmethod
    def publish(self, alert: Alert) -> None: ...
