"""Alerts to a Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat, Zulip's Slack mode).

The local backend's alerts go to it as well as to the alert file when ``NEWSOPS_WEBHOOK_URL`` is
set (chalicelib/factory.py). On AWS the alerts are SNS messages: subscribe the alerts topic to
the channel (AWS Chatbot for Slack, e-mail, an HTTPS endpoint) instead; docs/deploy.md says how.

The webhook URL is a secret (whoever holds it can post to the channel): held as a
``SecretStr``, it never appears in a log line or an exception message: failures name the HTTP
status or the error class only.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from pydantic import SecretStr

from chalicelib.alerts.base import Alert, AlertSink
from chalicelib.settings import WebhookSettings

log = logging.getLogger("newsops.alerts.webhook")

_ICONS = {"error": ":red_circle:", "warning": ":warning:", "resolved": ":white_check_mark:",
          "info": ":information_source:"}
_SECTION_CHARS = 2900  # Slack rejects a section text over 3,000 characters


class WebhookError(Exception):
    """Delivery failed; the message never contains the URL."""


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname:
        try:
            if ipaddress.ip_address(parts.hostname).is_loopback:
                return  # a local receiver (tests, a relay on the same machine)
        except ValueError:
            if parts.hostname == "localhost":
                return
    raise WebhookError("the webhook URL must be https:// (plain http only to a loopback address)")


def slack_payload(alert: Alert) -> dict[str, Any]:
    """``text`` for clients that only read that, ``blocks`` for a readable Slack message."""
    icon = _ICONS.get(alert.severity, "")
    facts = [("run", alert.run_id), ("stage", alert.stage),
             *((k, str(v)) for k, v in sorted(alert.counts.items()))]
    fields = [{"type": "mrkdwn", "text": f"*{k}*\n{v}"[:1900]} for k, v in facts if v][:10]
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn",
                                     "text": f"{icon} *{alert.subject}*\n{alert.reason}"[:_SECTION_CHARS]}},
    ]
    if fields:
        blocks.append({"type": "section", "fields": fields})
    if alert.look_at:
        look = "\n".join(f"• {x}" for x in alert.look_at[:10])
        blocks.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": f"look at:\n{look}"[:_SECTION_CHARS]}]})
    return {"text": f"{icon} {alert.subject}: {alert.reason}"[:3000], "blocks": blocks}


class WebhookAlertSink(AlertSink):
    def __init__(self, url: Callable[[], SecretStr] | SecretStr, *, timeout_s: float = 5.0) -> None:
        self._url = url if callable(url) else (lambda: url)
        self.timeout_s = timeout_s

    def __repr__(self) -> str:  # never the URL
        return "WebhookAlertSink(url=**********)"

    def publish(self, alert: Alert) -> None:
        url = self._url().get_secret_value()
        _check_url(url)
        body = json.dumps(slack_payload(alert)).encode()
        request = urllib.request.Request(url, data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as resp:  # noqa: S310 - checked above
                resp.read()
        except urllib.error.HTTPError as exc:
            raise WebhookError(f"webhook answered HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise WebhookError(f"webhook unreachable: {type(reason).__name__}") from None
        log.info("webhook: sent %s", alert.subject)


def webhook_sink(settings: WebhookSettings) -> WebhookAlertSink | None:
    """The configured webhook, or None."""
    if not settings.configured:
        return None
    return WebhookAlertSink(settings.webhook_url, timeout_s=settings.webhook_timeout_s)
