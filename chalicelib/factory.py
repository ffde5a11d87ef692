"""Builds every adapter from the settings: the one place that knows which backend is in use.

Handlers never branch on the backend; they receive a ``Runtime`` and use its ports.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from chalicelib.clock import SYSTEM_CLOCK, Clock
from chalicelib.contract.schema import TaskConfig
from chalicelib.contract.taskconfig import load_tasks
from chalicelib.runtime import LocalHandlers, Runtime, local_handlers
from chalicelib.search.base import SearchIndex
from chalicelib.settings import Settings
from chalicelib.store.base import ObjectStore

log = logging.getLogger("newsops.factory")


def build_runtime(settings: Settings, *, handlers: LocalHandlers | None = None,
                  clock: Clock | None = None) -> Runtime:
    """``clock``: where every adapter of this runtime reads "now" (default: the system clock)."""
    tasks = load_tasks(settings.tasks_file)
    clock = clock or SYSTEM_CLOCK
    if settings.backend == "local":
        return _build_local(settings, tasks, handlers or local_handlers(), clock)
    return _build_aws(settings, tasks, clock)


def build_store(settings: Settings) -> ObjectStore:
    """Only the object store: what a batch job needs, without the rest of the runtime."""
    if settings.backend == "local":
        from chalicelib.store.local import LocalObjectStore

        return LocalObjectStore(settings.home.resolve() / "store")
    from chalicelib.aws import client
    from chalicelib.store.s3 import S3ObjectStore

    return S3ObjectStore(settings.bucket, client("s3"))


def _build_local(settings: Settings, tasks: TaskConfig, handlers: LocalHandlers, clock: Clock) -> Runtime:
    from chalicelib.alerts.fanout import with_webhook
    from chalicelib.alerts.local import LocalAlertSink
    from chalicelib.compute.local import LocalCompute
    from chalicelib.compute.retry_policy import job_definitions
    from chalicelib.ledger.sqlite import SqliteLedger
    from chalicelib.search.local import LocalSearchIndex
    from chalicelib.store.events import object_created_event
    from chalicelib.store.local import LocalObjectStore
    from chalicelib.workflow.local import LocalTaskDispatcher, LocalWorkflow

    home = settings.home.resolve()
    home.mkdir(parents=True, exist_ok=True)
    store = build_store(settings)
    assert isinstance(store, LocalObjectStore)
    ledger = SqliteLedger(home / "ledger.sqlite3", clock=clock)
    alerts = with_webhook(LocalAlertSink(home / "alerts.jsonl"), settings.webhook)
    # Workers run the batch entrypoint against the same home, whatever their cwd.
    workers = settings.workers or os.cpu_count() or 1
    # One worker per core: each worker's torch gets its share of the cores, not all of them.
    worker_env = {"NEWSOPS_HOME": str(home), "NEWSOPS_BACKEND": "local",
                  "NEWSOPS_TORCH_THREADS": str(max(1, (os.cpu_count() or 1) // workers))}
    if settings.tasks_file:
        worker_env["NEWSOPS_TASKS_FILE"] = str(settings.tasks_file.resolve())
    commands = {f"{settings.job_definition_prefix}-{t.name}": t.command for t in tasks.tasks if t.command}
    # The stand-in job definitions' retry strategies: what Batch applies to a SubmitJob
    # without one (the pipeline passes none).
    retry = job_definitions(settings.job_definition_prefix, tasks.tasks)
    compute = LocalCompute(home, workers=workers, base_env=worker_env, commands=commands, retry=retry,
                           clock=clock)
    search = LocalSearchIndex(home / "search.sqlite3")

    dispatcher = LocalTaskDispatcher(compute, handlers.function, alerts)
    workflow = LocalWorkflow(dispatcher, ledger, retry_interval_scale=settings.retry_interval_scale,
                             clock=clock, heartbeat_s=settings.heartbeat_s)

    def trigger(info: Any) -> None:
        # The local stand-in for S3 -> EventBridge -> Lambda: same event, same handler.
        handlers.on_object_created(object_created_event(store.bucket, info, now=clock.utcnow()), None)

    store.subscribe("incoming/", trigger)
    return Runtime(settings, store, ledger, alerts, compute, workflow, search, tasks, clock)


# What NEWSOPS_BACKEND=aws does not yet do on AWS; logged at start-up and kept here for the
# status API and tests, so nobody mistakes the embedded index for a shared one.
AWS_SEARCH_LOCAL_NOTE = (
    "NEWSOPS_BACKEND=aws with NEWSOPS_SEARCH_BACKEND=local: the search index is the embedded "
    "SQLite engine at {path}, private to this process's disk (a Lambda's /tmp), not shared "
    "between functions; set NEWSOPS_SEARCH_BACKEND=opensearch|elasticsearch and "
    "NEWSOPS_SEARCH_URL for a shared index"
)


def _aws_home(settings: Settings) -> Path:
    """A writable home for the process-local parts (a Lambda can only write under /tmp)."""
    home = settings.home.resolve()
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError:
        home = Path(tempfile.gettempdir()) / "newsops"
        home.mkdir(parents=True, exist_ok=True)
    return home


def _build_aws(settings: Settings, tasks: TaskConfig, clock: Clock) -> Runtime:
    from chalicelib.alerts.sns import SnsAlertSink
    from chalicelib.aws import client
    from chalicelib.compute.batch import BatchCompute
    from chalicelib.ledger.dynamodb import DynamoDBLedger
    from chalicelib.workflow.stepfunctions import StepFunctionsWorkflow

    store = build_store(settings)
    ledger = DynamoDBLedger(settings.runs_table, settings.state_table, client("dynamodb"), clock=clock)
    alerts = SnsAlertSink(settings.alerts_topic_arn, client("sns"))
    compute = BatchCompute(settings.job_queue, client("batch"))
    workflow = StepFunctionsWorkflow(settings.state_machine_arn, client("stepfunctions"))
    search: SearchIndex
    if settings.search_backend == "local":
        from chalicelib.search.local import LocalSearchIndex

        path = _aws_home(settings) / "search.sqlite3"
        log.warning(AWS_SEARCH_LOCAL_NOTE.format(path=path))
        search = LocalSearchIndex(path)
    else:
        try:
            from chalicelib.search.factory import build_search_index
        except ImportError as exc:
            raise NotImplementedError(
                f"NEWSOPS_SEARCH_BACKEND={settings.search_backend}: no search adapter factory in this "
                "build (chalicelib.search.factory)") from exc
        search = build_search_index(settings)
    # No trigger to wire: S3 -> EventBridge invokes the ingest Lambda itself.
    return Runtime(settings, store, ledger, alerts, compute, workflow, search, tasks, clock)
