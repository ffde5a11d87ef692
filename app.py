"""newsops on AWS Chalice: thin handlers, each calling one plain function in chalicelib."""

from __future__ import annotations

from typing import Any

from chalice import Chalice

from chalicelib.cleanup import fail_run
from chalicelib.factory import get_runtime
from chalicelib.indexing import index_run
from chalicelib.ingest import handle_event
from chalicelib.verify import verify_run

app = Chalice(app_name="newsops")

S3_OBJECT_CREATED_UNDER_INCOMING = {
    "source": ["aws.s3"],
    "detail-type": ["Object Created"],
    "detail": {"object": {"key": [{"prefix": "incoming/"}]}},
}


@app.on_cw_event(S3_OBJECT_CREATED_UNDER_INCOMING, name="ingest")
def on_object_created(event: Any) -> dict[str, Any]:
    outcome = handle_event(event.to_dict(), get_runtime())
    return {"run_id": outcome.run_id, "status": outcome.status, "reason": outcome.reason}


@app.lambda_function(name="index")
def index(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return index_run(event["run_id"], get_runtime())


@app.lambda_function(name="verify")
def verify(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return verify_run(event["run_id"], get_runtime())


@app.lambda_function(name="cleanup")
def cleanup(event: dict[str, Any], context: Any) -> dict[str, str]:
    return fail_run(event["run_id"], event.get("error"), get_runtime())
