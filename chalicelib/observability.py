"""Structured logs with the run id on every line, and metrics in CloudWatch's Embedded Metric Format.

Logs: one Powertools ``Logger`` owns the ``newsops`` logger; every module's
``logging.getLogger("newsops.<area>")`` propagates to it, so their lines come out as JSON
with the same keys. :func:`log_context` is a Chalice middleware (registered once with
``app.register_middleware(log_context, "all")``, not a decorator per handler): for the
length of each invocation it binds the run id (from the payload, the S3 event or the URL),
the event kind and the Lambda context, logs how the invocation ended, and counts failures.

Where lines and metrics go is the only thing that differs by backend: on AWS, stdout (Lambda
sends it to CloudWatch Logs, which extracts EMF metrics); locally, ``<home>/logs/newsops.jsonl``
and ``<home>/metrics.jsonl`` with the very same documents, next to the human log on stderr.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import EphemeralMetrics

from chalicelib.contract import keys
from chalicelib.settings import Settings

SERVICE = "newsops"
NAMESPACE = "newsops"
_lock = threading.Lock()
_metrics_failed = False
_DISK_FAULTS = frozenset({errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.EIO, errno.EFBIG})
_logger: Logger | None = None
_target: str | None = None
_LEVEL = os.environ.get("POWERTOOLS_LOG_LEVEL", "INFO").upper()


def configure_logging(settings: Settings) -> Logger:
    """The process's JSON logger, pointed at this backend's destination (idempotent, cheap)."""
    global _logger, _target
    local = settings.backend == "local"
    target = str(_local_path(settings, "logs/newsops.jsonl")) if local else "stdout"
    with _lock:
        if _logger is None:
            _logger = Logger(service=SERVICE, logger_handler=_OneLineErrors(sys.stdout), utc=True)
        handler = _logger.logger_handler
        assert isinstance(handler, logging.StreamHandler)
        if target != _target:
            if target == "stdout":
                old = handler.setStream(sys.stdout)
            else:
                Path(target).parent.mkdir(parents=True, exist_ok=True)
                old = handler.setStream(open(target, "a", encoding="utf-8"))  # noqa: SIM115 - lives with the handler
            if old not in (None, sys.stdout, sys.stderr):
                old.close()
            _target = target
        _own_the_service_logger(handler, local=local)
        return _logger


class _OneLineErrors(logging.StreamHandler):
    """The structured log's handler. When its file cannot be written (a full or read-only
    disk) it says so once, in one line on stderr, instead of a traceback per log line; the
    human log on stderr goes on."""

    _reported = False

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        if _OneLineErrors._reported:
            return
        _OneLineErrors._reported = True
        exc = sys.exc_info()[1]
        where = getattr(self.stream, "name", "the structured log")
        sys.stderr.write(f"newsops: cannot write {where}: {getattr(exc, 'strerror', None) or exc}; "
                         "further structured log lines are dropped\n")


def _own_the_service_logger(handler: logging.Handler, *, local: bool) -> None:
    """Undo what ``Chalice(app_name="newsops")`` does to the logger of the same name.

    Chalice gives its app logger a plain stdout handler, level ERROR and no propagation, which
    would print every line twice and drop every INFO line of ``newsops.*``; it may do so after
    this module configured the logger (app.py is imported lazily), hence checked every time.
    """
    std = logging.getLogger(SERVICE)
    for h in list(std.handlers):
        if h is not handler:
            std.removeHandler(h)
    if handler not in std.handlers:
        std.addHandler(handler)
    std.setLevel(_LEVEL)
    # Locally the root handler is the human log on stderr: keep it. On Lambda the root handler
    # would print each line a second time, in plain text.
    std.propagate = local
    if local:
        _unsuppress_root()


def _unsuppress_root() -> None:
    from aws_lambda_powertools.logging.filters import SuppressFilter

    for handler in logging.root.handlers:
        for f in list(handler.filters):
            if isinstance(f, SuppressFilter):
                handler.removeFilter(f)


def _local_path(settings: Settings, name: str) -> Path:
    return settings.home.resolve() / name


# -- the middleware ---------------------------------------------------------------------------
def run_id_of_event(event: Any) -> str | None:
    """The run an invocation works on: payload ``run_id``, the S3 object of ingest, or the URL."""
    uri_params = getattr(event, "uri_params", None)
    if uri_params is not None or hasattr(event, "method"):
        rid = (uri_params or {}).get("run_id")
        return str(rid) if rid else None
    payload = getattr(event, "event", None)
    if isinstance(payload, dict) and payload.get("run_id"):
        return str(payload["run_id"])
    detail = getattr(event, "detail", None)
    if isinstance(detail, dict):
        obj = detail.get("object") or {}
        key, etag = obj.get("key"), obj.get("etag")
        if key and etag and keys.is_incoming(str(key)):
            return keys.run_id(str(key), str(etag))
    return None


def _event_kind(event: Any) -> str:
    if hasattr(event, "method"):
        return f"http {event.method} {getattr(event, 'path', '')}"
    name = type(event).__name__
    return {"LambdaFunctionEvent": "lambda", "CloudWatchEvent": "event"}.get(name, name)


def _lambda_context_keys(context: Any) -> dict[str, Any]:
    if context is None or not hasattr(context, "aws_request_id"):
        return {}
    return {"function_name": getattr(context, "function_name", None),
            "function_request_id": context.aws_request_id,
            "function_arn": getattr(context, "invoked_function_arn", None),
            "function_memory_size": getattr(context, "memory_limit_in_mb", None)}


def log_context(event: Any, get_response: Any) -> Any:
    """Chalice middleware for every event type: run id and context on every line of the invocation."""
    from chalicelib.runtime import get_runtime

    settings = get_runtime().settings
    logger = configure_logging(settings)
    rid = run_id_of_event(event)
    kind = _event_kind(event)
    context = getattr(event, "context", None) or getattr(event, "lambda_context", None)
    bound = {"run_id": rid, "event": kind, **_lambda_context_keys(context)}
    bound = {k: v for k, v in bound.items() if v is not None}
    previous = logger.thread_safe_get_current_keys()
    logger.thread_safe_append_keys(**bound)
    started = time.perf_counter()
    try:
        response = get_response(event)
    except Exception as exc:
        if isinstance(exc, OSError) and exc.errno in _DISK_FAULTS:
            # A full or read-only disk: the cause in one line, not a traceback per function.
            logger.error("%s failed: %s", kind, exc)
        else:
            logger.exception("%s failed: %s", kind, exc)
        emit_metrics(settings, {"Failures": ("Count", 1)}, dimensions={"event": kind.split(" ")[0]},
                     metadata={"run_id": rid})
        raise
    else:
        status = getattr(response, "status_code", None)
        logger.info("%s done in %.0f ms", kind, (time.perf_counter() - started) * 1000,
                    extra={"status_code": status} if status is not None else None)
        return response
    finally:
        logger.thread_safe_remove_keys(list(bound))
        if previous:
            logger.thread_safe_append_keys(**previous)


# -- metrics ----------------------------------------------------------------------------------
Metric = tuple[str, float]  # (unit, value)


def emf_document(metrics: dict[str, Metric], *, dimensions: dict[str, str] | None = None,
                 metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    m = EphemeralMetrics(namespace=NAMESPACE, service=SERVICE)
    for name, value in (dimensions or {}).items():
        m.add_dimension(name, str(value))
    for name, (unit, value) in metrics.items():
        m.add_metric(name=name, unit=unit, value=float(value))
    for key, value in (metadata or {}).items():
        if value is not None:
            m.add_metadata(key, value)
    return m.serialize_metric_set()


def emit_metrics(settings: Settings, metrics: dict[str, Metric], *,
                 dimensions: dict[str, str] | None = None, metadata: dict[str, Any] | None = None) -> None:
    """One EMF document: stdout on AWS (CloudWatch extracts it), ``metrics.jsonl`` locally."""
    if not metrics:
        return
    line = json.dumps(emf_document(metrics, dimensions={"stage": settings.stage, **(dimensions or {})},
                                   metadata=metadata), separators=(",", ":"))
    if settings.backend == "local":
        path = _local_path(settings, "metrics.jsonl")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with _lock, open(path, "a", encoding="utf-8") as f:
                f.write(line + "\n")
        except OSError as exc:
            # Metrics are the least of a full disk's problems: one line, and the work goes on.
            global _metrics_failed
            if not _metrics_failed:
                _metrics_failed = True
                logging.getLogger("newsops.metrics").warning(
                    "metrics not recorded in %s: %s (further failures not repeated)", path,
                    exc.strerror or exc)
    else:
        with _lock:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()


def run_metrics(report: Any) -> dict[str, Metric]:
    """Articles, chunks, task seconds and failures of one finished run (a ``RunReport``)."""
    chunks = max((t.chunks for t in report.tasks.values()), default=0)
    return {"Articles": ("Count", report.articles.get("valid", 0)),
            "ArticlesQuarantined": ("Count", report.articles.get("quarantined", 0)),
            "Chunks": ("Count", chunks),
            "TaskSeconds": ("Seconds", round(sum(t.seconds or 0 for t in report.tasks.values()), 3)),
            "Failures": ("Count", 0 if report.verdict == "ok" else 1)}
