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
        line = json.dumps(alert.body(), sort_keys=True, default=str)
        with self._lock, open(self.path, "a", encoding="utf-8") as f:
            f.write(line + "\n")
        # A run that went well is news, not an alarm: only warnings and errors say ALERT.
        if alert.severity in ("info", "resolved"):
            log.info("notice %s: %s", alert.subject, alert.reason)
        else:
            log.log(logging.WARNING if alert.severity == "warning" else logging.ERROR,
                    "ALERT %s: %s", alert.subject, alert.reason)

    def read(self) -> list[dict]:
        if not self.path.exists():
            return []
        return [json.loads(x) for x in self.path.read_text(encoding="utf-8").splitlines() if x]
