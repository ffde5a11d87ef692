"""The Slack-compatible webhook: payload, delivery to a local receiver, the URL kept secret."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pydantic import SecretStr

from chalicelib.alerts.base import Alert, AlertSink
from chalicelib.alerts.fanout import FanoutAlertSink, with_webhook
from chalicelib.alerts.webhook import WebhookAlertSink, WebhookError, slack_payload, webhook_sink
from chalicelib.settings import WebhookSettings
from tests.conftest import fake_task
from tests.pipeline_support import article, jsonl_gz, put_incoming

SECRET_PATH = "/services/T000/B000/s3cr3t-token-do-not-log"


class Receiver:
    def __init__(self) -> None:
        self.posts: list[dict] = []
        self.status = 200


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.posts.append({"path": self.path, "type": self.headers["Content-Type"],
                                "json": json.loads(body)})
            self.send_response(state.status)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}{SECRET_PATH}"
    finally:
        server.shutdown()
        server.server_close()


ALERT = Alert(subject="newsops result missing: run r-1", severity="error", reason="missing result runs/r-1/x",
              run_id="r-1", stage="verify", counts={"missing": 1}, look_at=["s3://b/runs/r-1/report.json"])


def test_payload_is_slack_shaped_and_bounded():
    p = slack_payload(ALERT)
    assert p["text"].startswith(":red_circle: newsops result missing")
    assert p["blocks"][0]["text"]["type"] == "mrkdwn"
    fields = {f["text"] for f in p["blocks"][1]["fields"]}
    assert "*run*\nr-1" in fields and "*missing*\n1" in fields
    huge = Alert(subject="s", severity="warning", reason="x" * 10_000)
    assert len(slack_payload(huge)["blocks"][0]["text"]["text"]) <= 3000


def test_delivery_and_the_url_never_logged(receiver, caplog, monkeypatch):
    state, url = receiver
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("NEWSOPS_WEBHOOK_URL", url)
    sink = webhook_sink(WebhookSettings())
    assert sink is not None and "s3cr3t" not in repr(sink) and "s3cr3t" not in repr(WebhookSettings())
    sink.publish(ALERT)
    assert state.posts[0]["path"] == SECRET_PATH and state.posts[0]["type"] == "application/json"
    assert state.posts[0]["json"]["text"].startswith(":red_circle:")
    state.status = 500
    with pytest.raises(WebhookError) as failed:
        sink.publish(ALERT)
    assert str(failed.value) == "webhook answered HTTP 500" and failed.value.__cause__ is None
    unreachable = WebhookAlertSink(SecretStr("http://127.0.0.1:9" + SECRET_PATH), timeout_s=2)
    with pytest.raises(WebhookError) as down:
        unreachable.publish(ALERT)
    assert "s3cr3t" not in str(down.value)
    with pytest.raises(WebhookError, match="must be https"):
        WebhookAlertSink(SecretStr("http://chat.example/" + SECRET_PATH)).publish(ALERT)
    assert "s3cr3t" not in caplog.text


class Failing(AlertSink):
    def publish(self, alert: Alert) -> None:
        raise ConnectionError("down")


class Keep(AlertSink):
    def __init__(self) -> None:
        self.got: list[Alert] = []

    def publish(self, alert: Alert) -> None:
        self.got.append(alert)


def test_fanout_optional_sinks_may_fail_required_ones_may_not(receiver, monkeypatch):
    keep = Keep()
    FanoutAlertSink([keep], [Failing()]).publish(ALERT)
    assert len(keep.got) == 1
    with pytest.raises(ConnectionError):
        FanoutAlertSink([Failing(), keep], []).publish(ALERT)
    assert len(keep.got) == 2  # every sink was tried before the error
    assert with_webhook(keep, WebhookSettings(webhook_url="")) is keep
    state, url = receiver
    both = with_webhook(keep, WebhookSettings(webhook_url=url))
    both.publish(ALERT)
    assert len(state.posts) == 1 and len(keep.got) == 3


def test_the_local_backends_alerts_reach_the_webhook_end_to_end(receiver, make_runtime, monkeypatch):
    """NEWSOPS_WEBHOOK_URL set: a run's alerts go to the channel as well as to the alert file,
    and a channel that is down loses no alert (the file still has it)."""
    state, url = receiver
    monkeypatch.setenv("NEWSOPS_WEBHOOK_URL", url)
    rt = make_runtime(tasks=[fake_task("t")], chunk_size=5)
    _, rid = put_incoming(rt, "hooked.jsonl.gz", jsonl_gz([article(i) for i in range(6)]))
    assert [p["json"]["text"] for p in state.posts] == [
        f":information_source: newsops run ok: {rid}: newsops run ok: {rid}"]
    state.status = 500
    put_incoming(rt, "down.jsonl.gz", jsonl_gz([article(i) for i in range(10, 13)]))
    assert len(rt.alerts.read()) == 2  # recorded although the webhook failed
