"""Alerts on one machine: a log line and a JSON-lines file (and optionally a webhook)."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

from chalicelib.alerts.base import Alert, AlertSink

log = logging.getLogger("newsops.alerts")


class LocalAlertSink(AlertSink):
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def publish(self, alert: Alert) -> None:
        # stderr first: it needs no disk, so an alert about a full or read-only disk still
        # reaches the person; the file is the record, written when it can be.
        # A run that went well is news, not an alarm: only warnings and errors say ALERT.
        if alert.severity in ("info", "resolved"):
            log.info("notice %s: %s", alert.subject, alert.reason)
        else:
            log.log(logging.WARNING if alert.severity == "warning" else logging.ERROR,
                    "ALERT %s: %s", alert.subject, alert.reason)
        line = json.dumps(alert.body(), sort_keys=True, default=str)
        try:
            with self._lock, open(self.path, "a", encoding="utf-8") as f:
                f.write(line + "\n")
        except OSError as exc:
            log.error("the alert above is not recorded in %s: %s", self.path, exc.strerror or exc)

    def read(self) -> list[dict]:
        if not self.path.exists():
            return []
        return [json.loads(x) for x in self.path.read_text(encoding="utf-8").splitlines() if x]
