"""One alert to several sinks: the required ones must take it, the optional ones may fail.

Locally: the log + file sink (required) and the webhook (optional). On AWS the webhook is fed
by a subscriber of the SNS topic instead, so every alert (the state machine publishes its own)
takes one path to the chat and none arrives twice.
"""

from __future__ import annotations

import logging

from chalicelib.alerts.base import Alert, AlertSink
from chalicelib.settings import WebhookSettings

log = logging.getLogger("newsops.alerts")


class FanoutAlertSink(AlertSink):
    def __init__(self, required: list[AlertSink], optional: list[AlertSink] | None = None) -> None:
        if not required:
            raise ValueError("a fan-out needs at least one required sink")
        self.required = list(required)
        self.optional = list(optional or [])

    def publish(self, alert: Alert) -> None:
        errors: list[Exception] = []
        for sink in self.required:
            try:
                sink.publish(alert)
            except Exception as exc:  # noqa: BLE001 - try every sink before reporting
                errors.append(exc)
        for sink in self.optional:
            try:
                sink.publish(alert)
            except Exception as exc:  # noqa: BLE001 - optional: a chat outage must not lose the alert
                log.warning("optional alert sink %s failed: %s", type(sink).__name__, exc)
        if errors:
            raise errors[0]

    def read(self) -> list[dict]:
        """The local sink's file, when one of the required sinks keeps one (tests, the CLI)."""
        for sink in self.required:
            reader = getattr(sink, "read", None)
            if reader is not None:
                return reader()
        return []


def with_webhook(sink: AlertSink, settings: WebhookSettings) -> AlertSink:
    """``sink`` plus the configured webhook (optional: its failure never loses the alert), or
    ``sink`` alone when none is configured."""
    from chalicelib.alerts.webhook import webhook_sink

    webhook = webhook_sink(settings)
    return FanoutAlertSink([sink], [webhook]) if webhook else sink
