"""The runtime: every port a handler uses (store, ledger, alerts, compute, workflow, search),
the task config and the clock, and the one the process installed.

Core code takes a ``Runtime`` as an argument and never knows which backend is behind a port;
``chalicelib.factory`` builds one from the settings.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib.alerts.base import AlertSink
from chalicelib.clock import SYSTEM_CLOCK, Clock
from chalicelib.compute.base import Compute
from chalicelib.contract.schema import TaskConfig
from chalicelib.ledger.base import Ledger
from chalicelib.search.base import SearchIndex
from chalicelib.settings import Settings, get_settings
from chalicelib.store.base import ObjectStore
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
    # "Now" for everything the runtime stamps or compares; the adapters above share this one.
    clock: Clock = SYSTEM_CLOCK

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
            from chalicelib.factory import build_runtime  # the composition root, built on first use

            _runtime = build_runtime(get_settings())
        return _runtime


def set_runtime(runtime: Runtime | None) -> Runtime | None:
    """Install a runtime (CLI, tests); returns the previous one."""
    global _runtime
    with _lock:
        previous, _runtime = _runtime, runtime
        return previous


Handler = Callable[[dict[str, Any], Any], Any]


@dataclass(frozen=True)
class LocalHandlers:
    """What the local backend calls where AWS invokes a function: the app's handlers. app.py
    registers them when it is imported; the factory takes them from there (or from its
    caller), so no core module imports the app."""

    function: Callable[[str], Handler]  # a Lambda function of the app, by name (index, verify, ...)
    on_object_created: Handler  # the S3 "Object Created" handler: ingest


_handlers: LocalHandlers | None = None


def register_local_handlers(handlers: LocalHandlers) -> None:
    global _handlers
    _handlers = handlers


def local_handlers() -> LocalHandlers:
    if _handlers is None:
        raise RuntimeError("the local backend runs the app's handlers, and none are registered: "
                           "import app first (app.py registers them), or pass handlers= to build_runtime")
    return _handlers

