"""The alerts port: a short subject for a pager, a structured body for the person who acts."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Severity = Literal["info", "warning", "error", "resolved"]

# SNS refuses a Publish whose Subject is over 100 characters or holds a line break or a control
# character; mail clients and pagers show little more. Every subject is cut to this.
SUBJECT_MAX = 100
_ELLIPSIS = "..."


def one_line(text: str) -> str:
    """Whitespace runs (newlines, tabs) to one space, other control characters dropped."""
    return " ".join("".join(c for c in text if c.isprintable() or c.isspace()).split())


def fit_subject(text: str, tail: str = "", limit: int = SUBJECT_MAX) -> str:
    """``text`` + ``tail`` on one line within ``limit`` characters. ``tail`` (a run id: what a
    person searches for) is kept whole; ``text`` is cut, with "...", where both do not fit."""
    head, tail = one_line(text), one_line(tail)
    if len(head) + len(tail) <= limit:
        return head + tail
    if len(tail) + len(_ELLIPSIS) >= limit:
        return tail[:limit]
    return head[:limit - len(tail) - len(_ELLIPSIS)].rstrip() + _ELLIPSIS + tail


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
        self.subject = fit_subject(self.subject)

    def body(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, [], {})}


class AlertSink(ABC):
    @abstractmethod
    def publish(self, alert: Alert) -> None: ...
