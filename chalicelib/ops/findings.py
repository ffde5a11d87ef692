"""Stored findings: each problem is alerted once, again only after a cool-down, and resolved once.

A check (the verifier's, the reaper's) reports what it finds *now*; :func:`reconcile` compares
that with what is stored in the ledger's state namespace and decides which alerts go out:

- a new problem -> one alert;
- a problem still open -> nothing, unless ``alert_cooldown_s`` passed since its last alert
  (then one reminder), so an hourly schedule never turns into an alert storm;
- a stored open problem that the same check no longer finds -> one "resolved" notice.

The alert is published before the finding records it as alerted: a sink that fails leaves the
finding unalerted, and the next pass tries again rather than losing the alert.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from chalicelib.alerts.base import Alert, AlertSink
from chalicelib.clock import SYSTEM_CLOCK, Clock
from chalicelib.ledger.base import Ledger

log = logging.getLogger("newsops.ops.findings")

NAMESPACE = "ops-findings"
FindingStatus = Literal["open", "resolved"]


@dataclass
class Finding:
    """One problem as a check sees it now. ``id`` is stable across passes: ``<check>:<subject>``."""

    id: str
    check: str
    subject: str
    reason: str
    severity: Literal["warning", "error"] = "error"
    run_id: str | None = None
    stage: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    look_at: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    # A failed run does not get worse by waiting: one alert is enough, and it closes silently.
    repeat: bool = True
    notify_resolved: bool = True
    # Someone else already told a person (the pipeline's own failure alert): record, don't send.
    already_alerted: bool = False


@dataclass
class StoredFinding(Finding):
    status: FindingStatus = "open"
    first_seen: float = 0.0
    last_seen: float = 0.0
    last_alerted: float | None = None
    alerts: int = 0
    resolved_at: float | None = None

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> StoredFinding:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in doc.items() if k in names})

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ReconcileOutcome:
    opened: list[str] = field(default_factory=list)
    reminded: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    closed_silently: list[str] = field(default_factory=list)
    still_open: list[str] = field(default_factory=list)
    publish_failed: list[str] = field(default_factory=list)

    @property
    def alerts_sent(self) -> int:
        return len(self.opened) + len(self.reminded) + len(self.resolved)


class FindingStore:
    def __init__(self, ledger: Ledger, alerts: AlertSink, *, cooldown_s: float,
                 clock: Clock | None = None) -> None:
        self.ledger = ledger
        self.alerts = alerts
        self.cooldown_s = cooldown_s
        self.clock = clock or SYSTEM_CLOCK

    def all(self) -> list[StoredFinding]:
        return [StoredFinding.from_doc(doc) for _key, doc in self.ledger.list_state(NAMESPACE)]

    def open(self) -> list[StoredFinding]:
        return [f for f in self.all() if f.status == "open"]

    def get(self, finding_id: str) -> StoredFinding | None:
        doc = self.ledger.get_state(NAMESPACE, finding_id)
        return StoredFinding.from_doc(doc) if doc else None

    def reconcile(self, found: Iterable[Finding], *, checks: Iterable[str],
                  covers: Callable[[StoredFinding], bool] | None = None,
                  announce: Callable[[StoredFinding], bool] | None = None,
                  now: float | None = None) -> ReconcileOutcome:
        """Apply one pass of ``checks``: ``found`` is everything they see now.

        Only stored findings of those checks (and, with ``covers``, only those the pass looked
        at, e.g. one run's) can be resolved by their absence. ``announce`` picks findings whose
        resolution is news even though they do not usually notify it (a failed run that a retry
        made succeed, rather than one that left the look-back).
        """
        now = self.clock.now() if now is None else now
        checks = set(checks)
        out = ReconcileOutcome()
        current = {f.id: f for f in found}
        stored = {f.id: f for f in self.all() if f.check in checks}
        for fid, f in current.items():
            prev = stored.get(fid)
            if prev is None or prev.status != "open":
                rec = StoredFinding(**asdict(f), status="open", first_seen=now, last_seen=now)
                if f.already_alerted:
                    rec.last_alerted = now
                    self._save(rec)
                    out.still_open.append(fid)
                elif self._send(rec, "new", now, out):
                    out.opened.append(fid)
                continue
            rec = StoredFinding(**asdict(f), status="open", first_seen=prev.first_seen, last_seen=now,
                                last_alerted=prev.last_alerted, alerts=prev.alerts)
            due = rec.last_alerted is None or (f.repeat and now - rec.last_alerted >= self.cooldown_s)
            if due and not f.already_alerted:
                reminder = prev.last_alerted is not None
                if self._send(rec, "reminder" if reminder else "new", now, out):
                    (out.reminded if reminder else out.opened).append(fid)
            else:
                self._save(rec)
                out.still_open.append(fid)
        for fid, prev in stored.items():
            if fid in current or prev.status != "open" or (covers and not covers(prev)):
                continue
            prev.status, prev.resolved_at = "resolved", now
            notify = prev.notify_resolved or (announce is not None and announce(prev))
            if notify and prev.last_alerted is not None:
                if self._send(prev, "resolved", now, out):
                    out.resolved.append(fid)
            else:
                self._save(prev)
                out.closed_silently.append(fid)
        return out

    # -- internals --------------------------------------------------------------------------
    def _send(self, rec: StoredFinding, kind: Literal["new", "reminder", "resolved"], now: float,
              out: ReconcileOutcome) -> bool:
        try:
            self.alerts.publish(alert_for(rec, kind, now))
        except Exception:  # noqa: BLE001 - any sink failure: keep the finding due, try next pass
            log.exception("could not publish the %s alert of finding %s", kind, rec.id)
            out.publish_failed.append(rec.id)
            if kind == "resolved":
                rec.status, rec.resolved_at = "open", None
            self._save(rec)
            return False
        if kind != "resolved":
            rec.last_alerted = now
            rec.alerts += 1
        self._save(rec)
        return True

    def _save(self, rec: StoredFinding) -> None:
        self.ledger.put_state(NAMESPACE, rec.id, rec.to_doc())


def alert_for(rec: StoredFinding, kind: Literal["new", "reminder", "resolved"], now: float) -> Alert:
    """The alert a person reads: a short subject, and in the body what, where, since when."""
    if kind == "resolved":
        subject = f"RESOLVED: {rec.subject}"
        reason = f"no longer found after {_duration(now - rec.first_seen)}: {rec.reason}"
        severity: Any = "resolved"
    elif kind == "reminder":
        subject = f"STILL OPEN: {rec.subject}"
        reason = f"open for {_duration(now - rec.first_seen)}: {rec.reason}"
        severity = rec.severity
    else:
        subject, reason, severity = rec.subject, rec.reason, rec.severity
    details = {"finding": rec.id, "check": rec.check, "first_seen": rec.first_seen,
               "alerts_before": rec.alerts, **rec.details}
    return Alert(subject=f"newsops {subject}", severity=severity, reason=reason, run_id=rec.run_id,
                 stage=rec.stage, counts=dict(rec.counts), look_at=list(rec.look_at),
                 details=details, time=now)


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}min"
    if seconds < 172800:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"
