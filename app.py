"""newsops on AWS Chalice: thin handlers, each calling one plain function in chalicelib."""

from __future__ import annotations

from typing import Any

from chalice import Chalice, Rate

from chalicelib.api.routes import bp as status_api
from chalicelib.crawl.crawler import run_scheduled as crawl_sources
from chalicelib.observability import log_context
from chalicelib.ops.reaper import reap
from chalicelib.ops.run_end import on_run_end
from chalicelib.ops.verifier import run_verifier
from chalicelib.runtime import LocalHandlers, get_runtime, register_local_handlers
from chalicelib.steps.cleanup import fail_run
from chalicelib.steps.index import index_slice, parse_request
from chalicelib.steps.ingest import handle_event
from chalicelib.steps.verify import verify_run

# configure_logs=False: Chalice's own log setup would swallow the project's INFO lines.
app = Chalice(app_name="newsops", configure_logs=False)
app.register_blueprint(status_api)
app.register_middleware(log_context, "all")

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
    """One slice of the run's chunks per invocation (the state machine's Index Map)."""
    req = parse_request(event)
    return index_slice(req.run_id, req.first, req.last, get_runtime())


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


@app.schedule(Rate(1, unit=Rate.HOURS), name="crawl")
def scheduled_crawl(event: Any) -> dict[str, Any]:
    context = getattr(event, "context", None)
    remaining = context.get_remaining_time_in_millis() / 1000 if context else None
    return crawl_sources(get_runtime(), remaining_s=remaining)


@app.schedule(Rate(1, unit=Rate.HOURS), name="verifier")
def scheduled_verifier(event: Any) -> dict[str, Any]:
    return run_verifier(get_runtime()).to_doc()


@app.schedule(Rate(15, unit=Rate.MINUTES), name="reaper")
def scheduled_reaper(event: Any) -> dict[str, Any]:
    return reap(get_runtime()).to_doc()


def local_handlers() -> LocalHandlers:
    """What the local backend calls where AWS would invoke a function (chalicelib/runtime.py)."""
    return LocalHandlers(function=lambda name: globals()[name],
                         on_object_created=lambda event, context: on_object_created(event, context))


register_local_handlers(local_handlers())

