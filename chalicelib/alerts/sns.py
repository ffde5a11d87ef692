"""Alerts on SNS: the subject for a pager or mail client, the JSON body for the person who acts.

Message attributes carry the severity and run id, so a subscription filter policy can send
errors to a pager and everything else to a mailbox without parsing the body.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from chalicelib.alerts.base import Alert, AlertSink, fit_subject, one_line

log = logging.getLogger("newsops.alerts")

# SNS limits: subject <= 100 printable ASCII characters; message <= 256 KiB.
_MAX_MESSAGE_BYTES = 256 * 1024 - 1024


def sns_subject(subject: str) -> str:
    """One line of printable ASCII (a character outside it becomes "?"), at most 100 long, and
    never empty: SNS refuses anything else, and then no alert goes out at all."""
    text = one_line(subject).encode("ascii", "replace").decode("ascii")
    return fit_subject(text) or "newsops alert"


def sns_message(alert: Alert) -> str:
    body = alert.body()
    message = json.dumps(body, sort_keys=True, default=str)
    if len(message.encode()) > _MAX_MESSAGE_BYTES:
        # The details are the long part; the reason and where to look must still get through.
        body.pop("details", None)
        body["truncated"] = "details dropped: the alert exceeded the SNS message size"
        message = json.dumps(body, sort_keys=True, default=str)[:_MAX_MESSAGE_BYTES]
    return message


class SnsAlertSink(AlertSink):
    def __init__(self, topic_arn: str, client: Any) -> None:
        if not topic_arn:
            raise ValueError("SnsAlertSink needs a topic ARN (NEWSOPS_ALERTS_TOPIC_ARN)")
        self.topic_arn = topic_arn
        self._sns = client

    def publish(self, alert: Alert) -> None:
        attributes = {"severity": {"DataType": "String", "StringValue": alert.severity}}
        if alert.run_id:
            attributes["run_id"] = {"DataType": "String", "StringValue": alert.run_id}
        if alert.stage:
            attributes["stage"] = {"DataType": "String", "StringValue": alert.stage}
        self._sns.publish(TopicArn=self.topic_arn, Subject=sns_subject(alert.subject),
                          Message=sns_message(alert), MessageAttributes=attributes)
        level = logging.INFO if alert.severity in ("info", "resolved") else logging.ERROR
        log.log(level, "ALERT %s: %s", alert.subject, alert.reason)
