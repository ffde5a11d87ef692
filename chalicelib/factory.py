"""Builds every adapter from the settings: the one place that knows which backend is in use.

Handlers never branch on the backend; they receive a ``Runtime`` and use its ports.
"""

from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass
from typing import Any

from chalicelib.alerts.base import AlertSink
from chalicelib.compute.base import Compute
from chalicelib.ledger.base import Ledger
from chalicelib.schema import TaskConfig
from chalicelib.search.base import SearchIndex
from chalicelib.settings import Settings, get_settings
from chalicelib.store.base import ObjectStore
from chalicelib.taskconfig import load_tasks
from chalicelib.workflow.base import Workflow


@dataclass
class Runtime:
    settings: Settings
    store: ObjectStore
    ledger: Ledger
    alerts: AlertSink
    compute: Compute
    workflow: Workflow
    search: SearchIndex
    tasks: TaskConfig

    def close(self) -> None:
        shutdown = getattr(self.compute, "shutdown", None)
        if shutdown:
            shutdown()


_runtime: Runtime | None = None
_lock = threading.Lock()


def get_runtime() -> Runtime:
    """The process-wide runtime (Lambda containers and the CLI reuse it between events)."""
    global _runtime
    with _lock:
        if _runtime is None:
            _runtime = build_runtime(get_settings())
        return _runtime


def set_runtime(runtime: Runtime | None) -> Runtime | None:
    """Install a runtime (CLI, tests); returns the previous one."""
    global _runtime
    with _lock:
        previous, _runtime = _runtime, runtime
        return previous


def build_runtime(settings: Settings, *, app_module: str = "app") -> Runtime:
    tasks = load_tasks(settings.tasks_file)
    if settings.backend == "local":
        return _build_local(settings, tasks, app_module)
    raise NotImplementedError(
        "NEWSOPS_BACKEND=aws: the AWS adapters are not part of this build yet; use NEWSOPS_BACKEND=local"
    )


def build_store(settings: Settings) -> ObjectStore:
    """Only the object store: what a batch job needs, without the rest of the runtime."""
    if settings.backend == "local":
        from chalicelib.store.local import LocalObjectStore

        return LocalObjectStore(settings.home.resolve() / "store")
    raise NotImplementedError("NEWSOPS_BACKEND=aws: the S3 store is not part of this build yet")


def _build_local(settings: Settings, tasks: TaskConfig, app_module: str) -> Runtime:
    from chalicelib.alerts.local import LocalAlertSink
    from chalicelib.compute.local import LocalCompute
    from chalicelib.ledger.sqlite import SqliteLedger
    from chalicelib.search.local import LocalSearchIndex
    from chalicelib.store.events import object_created_event
    from chalicelib.store.local import LocalObjectStore
    from chalicelib.workflow.local import LocalTaskDispatcher, LocalWorkflow

    home = settings.home.resolve()
    home.mkdir(parents=True, exist_ok=True)
    store = build_store(settings)
    assert isinstance(store, LocalObjectStore)
    ledger = SqliteLedger(home / "ledger.sqlite3")
    alerts = LocalAlertSink(home / "alerts.jsonl")
    # Workers run the batch entrypoint against the same home, whatever their cwd.
    worker_env = {"NEWSOPS_HOME": str(home), "NEWSOPS_BACKEND": "local"}
    if settings.tasks_file:
        worker_env["NEWSOPS_TASKS_FILE"] = str(settings.tasks_file.resolve())
    commands = {f"{settings.job_definition_prefix}-{t.name}": t.command for t in tasks.tasks if t.command}
    compute = LocalCompute(home, workers=settings.workers, base_env=worker_env, commands=commands)
    search = LocalSearchIndex(home / "search.sqlite3")

    def resolve_lambda(name: str) -> Any:
        return getattr(importlib.import_module(app_module), name)

    dispatcher = LocalTaskDispatcher(compute, resolve_lambda, alerts)
    workflow = LocalWorkflow(dispatcher, ledger, retry_interval_scale=settings.retry_interval_scale)

    def trigger(info: Any) -> None:
        # The local stand-in for S3 -> EventBridge -> Lambda: same event, same handler.
        handler = importlib.import_module(app_module).on_object_created
        handler(object_created_event(store.bucket, info), None)

    store.subscribe("incoming/", trigger)
    return Runtime(settings, store, ledger, alerts, compute, workflow, search, tasks)
