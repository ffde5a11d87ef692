"""app.py as the issue's report asks it to be wired, for tests: the same handlers, plus the log
middleware, the end-of-run hook in verify and cleanup, and the two scheduled handlers.

(The status blueprint is not registered here: Chalice lets a blueprint be registered once per
process, and tests/ops/conftest.py's app does that.)
"""

from __future__ import annotations

from typing import Any

from chalice import Chalice, Rate

from chalicelib.cleanup import fail_run
from chalicelib.factory import get_runtime
from chalicelib.indexing import index_run
from chalicelib.ingest import handle_event
from chalicelib.observability import log_context
from chalicelib.ops.reaper import reap
from chalicelib.ops.run_end import on_run_end
from chalicelib.ops.verifier import run_verifier
from chalicelib.verify import verify_run

app = Chalice(app_name="newsops", configure_logs=False)
app.register_middleware(log_context, "all")


@app.on_cw_event({"source": ["aws.s3"], "detail-type": ["Object Created"]}, name="ingest")
def on_object_created(event: Any) -> dict[str, Any]:
    outcome = handle_event(event.to_dict(), get_runtime())
    return {"run_id": outcome.run_id, "status": outcome.status, "reason": outcome.reason}


@app.lambda_function(name="index")
def index(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return index_run(event["run_id"], get_runtime())


@app.lambda_function(name="verify")
def verify(event: dict[str, Any], context: Any) -> dict[str, Any]:
    rt = get_runtime()
    result = verify_run(event["run_id"], rt)
    on_run_end(event["run_id"], rt)
    return result


@app.lambda_function(name="cleanup")
def cleanup(event: dict[str, Any], context: Any) -> dict[str, str]:
    rt = get_runtime()
    result = fail_run(event["run_id"], event.get("error"), rt)
    on_run_end(event["run_id"], rt)
    return result


@app.schedule(Rate(1, unit=Rate.HOURS), name="verifier")
def scheduled_verifier(event: Any) -> dict[str, Any]:
    return run_verifier(get_runtime()).to_doc()


@app.schedule(Rate(15, unit=Rate.MINUTES), name="reaper")
def scheduled_reaper(event: Any) -> dict[str, Any]:
    return reap(get_runtime()).to_doc()
