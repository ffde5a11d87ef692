"""JSON logs with the run id on every line of an invocation (middleware), and EMF metrics."""

from __future__ import annotations

import json
import logging

from chalice import Chalice
from chalice.test import Client

from chalicelib.observability import configure_logging, emf_document, log_context, run_id_of_event


def _lines(rt) -> list[dict]:
    path = rt.settings.home.resolve() / "logs" / "newsops.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()]


def _app() -> Chalice:
    app = Chalice(app_name="newsops")  # the real app's name: Chalice configures that logger too
    app.register_middleware(log_context, "all")
    work = logging.getLogger("newsops.work")

    @app.lambda_function(name="index")
    def index(event, context):
        work.info("indexing %s", event["run_id"])
        logging.getLogger("newsops.deeper.module").warning("something odd")
        return {"ok": True}

    @app.lambda_function(name="broken")
    def broken(event, context):
        work.info("about to fail")
        raise RuntimeError("boom")

    @app.on_cw_event({"source": ["aws.s3"]}, name="ingest")
    def ingest(event):
        work.info("ingesting")
        return {}

    return app


def test_every_line_of_an_invocation_carries_its_run_id(make_runtime):
    rt = make_runtime()
    app = _app()
    with Client(app) as client:
        client.lambda_.invoke("index", {"run_id": "batch-1-0123456789abcdef"})
        try:
            client.lambda_.invoke("broken", {"run_id": "batch-2-0123456789abcdef"})
        except RuntimeError:
            pass
        event = {"version": "0", "account": "1", "region": "r", "detail-type": "Object Created",
                 "source": "aws.s3", "time": "t", "id": "i", "resources": [],
                 "detail": {"object": {"key": "incoming/2026-11-27/x.jsonl.gz", "etag": "abc"}}}
        client.lambda_.invoke("ingest", event)
    logging.getLogger("newsops.after").info("outside any invocation")
    lines = _lines(rt)
    by_message = {x["message"]: x for x in lines}
    for message in ("indexing batch-1-0123456789abcdef", "something odd", "lambda done in"):
        line = next(v for k, v in by_message.items() if k.startswith(message))
        assert line["run_id"] == "batch-1-0123456789abcdef", line
        assert line["service"] == "newsops" and line["event"] == "lambda"
    assert by_message["about to fail"]["run_id"] == "batch-2-0123456789abcdef"
    failed = next(x for x in lines if x["message"].startswith("lambda failed"))
    assert failed["run_id"] == "batch-2-0123456789abcdef" and "RuntimeError: boom" in failed["exception"]
    from chalicelib.contract import keys

    assert by_message["ingesting"]["run_id"] == keys.run_id("incoming/2026-11-27/x.jsonl.gz", "abc")
    assert "run_id" not in by_message["outside any invocation"]  # bound for the invocation only
    metrics = [json.loads(x) for x in (rt.settings.home / "metrics.jsonl").read_text().splitlines()]
    assert [m["Failures"] for m in metrics if "Failures" in m] == [[1.0]]


def test_chalice_does_not_take_the_service_logger_back(make_runtime, capsys):
    rt = make_runtime()
    configure_logging(rt.settings)
    Chalice(app_name="newsops")  # adds a plain stdout handler, level ERROR, no propagation
    configure_logging(rt.settings)
    std = logging.getLogger("newsops")
    assert len(std.handlers) == 1 and std.level == logging.INFO and std.propagate is True
    logging.getLogger("newsops.x").info("once, as JSON, in the file")
    assert "once, as JSON" not in capsys.readouterr().out
    assert _lines(rt)[-1]["message"] == "once, as JSON, in the file"


def test_aws_logs_go_to_stdout_and_do_not_propagate(make_runtime, capsys):
    rt = make_runtime()
    aws = rt.settings.model_copy(update={"backend": "aws"})
    try:
        configure_logging(aws)
        logging.getLogger("newsops.y").info("to cloudwatch")
        line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert line["message"] == "to cloudwatch" and logging.getLogger("newsops").propagate is False
    finally:
        configure_logging(rt.settings)


def test_emf_document_and_event_run_ids():
    doc = emf_document({"Articles": ("Count", 12), "TaskSeconds": ("Seconds", 1.5)},
                       dimensions={"stage": "dev", "task": "ner"}, metadata={"run_id": "r-1"})
    [spec] = doc["_aws"]["CloudWatchMetrics"]
    assert spec["Namespace"] == "newsops" and set(spec["Dimensions"][0]) == {"stage", "task", "service"}
    assert {m["Name"]: m["Unit"] for m in spec["Metrics"]} == {"Articles": "Count", "TaskSeconds": "Seconds"}
    assert doc["Articles"] == [12.0] and doc["run_id"] == "r-1"

    class Req:
        method, path, uri_params = "GET", "/runs/{run_id}", {"run_id": "abc"}

    assert run_id_of_event(Req()) == "abc"
