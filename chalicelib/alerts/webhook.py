"""Alerts to a Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat, Zulip's Slack mode).

The webhook URL is a secret (whoever holds it can post to the channel): it comes from the
environment (``NEWSOPS_WEBHOOK_URL``) or from SSM Parameter Store (``NEWSOPS_WEBHOOK_URL_PARAMETER``,
a SecureString), is held as a ``SecretStr``, and never appears in a log line or an exception
message: failures name the HTTP status or the error class only.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from chalicelib.alerts.base import Alert, AlertSink

log = logging.getLogger("newsops.alerts.webhook")

_ICONS = {"error": ":red_circle:", "warning": ":warning:", "resolved": ":white_check_mark:",
          "info": ":information_source:"}
_SECTION_CHARS = 2900  # Slack rejects a section text over 3,000 characters
_PARAMETER_TTL_S = 300.0


class WebhookError(Exception):
    """Delivery failed; the message never contains the URL."""


class WebhookSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEWSOPS_", extra="ignore")

    webhook_url: SecretStr = SecretStr("")
    webhook_url_parameter: str = ""  # SSM parameter name, e.g. /newsops/prod/webhook-url
    webhook_timeout_s: float = 5.0

    @property
    def configured(self) -> bool:
        return bool(self.webhook_url.get_secret_value() or self.webhook_url_parameter)


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


class SsmParameter:
    """A SecureString read with decryption, cached for a few minutes (Lambdas are reused)."""

    def __init__(self, name: str, client: Any = None, *, ttl_s: float = _PARAMETER_TTL_S) -> None:
        self.name = name
        self._client = client
        self.ttl_s = ttl_s
        self._value: SecretStr | None = None
        self._read_at = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> SecretStr:
        with self._lock:
            if self._value is None or time.monotonic() - self._read_at > self.ttl_s:
                if self._client is None:
                    from chalicelib.aws import client

                    self._client = client("ssm")
                try:
                    resp = self._client.get_parameter(Name=self.name, WithDecryption=True)
                except Exception as exc:  # noqa: BLE001 - boto errors name the parameter, not its value
                    raise WebhookError(f"cannot read SSM parameter {self.name}: "
                                       f"{type(exc).__name__}") from None
                self._value = SecretStr(resp["Parameter"]["Value"])
                self._read_at = time.monotonic()
            return self._value


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


def webhook_sink(settings: WebhookSettings | None = None, *, ssm_client: Any = None) -> WebhookAlertSink | None:
    """The configured webhook, or None: the URL from the environment, else from SSM."""
    settings = settings or WebhookSettings()
    if settings.webhook_url.get_secret_value():
        return WebhookAlertSink(settings.webhook_url, timeout_s=settings.webhook_timeout_s)
    if settings.webhook_url_parameter:
        return WebhookAlertSink(SsmParameter(settings.webhook_url_parameter, ssm_client),
                                timeout_s=settings.webhook_timeout_s)
    return None


def alert_from_sns(subject: str | None, message: str) -> Alert:
    """An SNS notification (the pipeline's, or a sink's) as an Alert, to forward to the webhook."""
    try:
        body = json.loads(message)
    except ValueError:
        body = {"reason": message}
    if not isinstance(body, dict):
        body = {"reason": str(body)}
    subject = subject or str(body.get("subject") or "newsops alert")
    severity = body.get("severity") or ("error" if "FAIL" in subject.upper() else "info")
    if severity not in _ICONS:
        severity = "info"
    return Alert(subject=subject, severity=severity, reason=str(body.get("reason") or body.get("verdict") or subject),
                 run_id=body.get("run_id"), stage=body.get("stage"),
                 counts={k: v for k, v in (body.get("counts") or {}).items() if isinstance(v, int)},
                 look_at=[str(x) for x in body.get("look_at") or []])


def forward_sns_to_webhook(subject: str | None, message: str,
                           sink: WebhookAlertSink | None = None) -> bool:
    """The SNS-subscribed forwarder: on AWS every alert reaches the webhook through the topic."""
    sink = sink or webhook_sink()
    if sink is None:
        return False
    sink.publish(alert_from_sns(subject, message))
    return True
