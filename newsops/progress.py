"""Progress of a run's jobs: rich bars on a terminal, plain periodic lines otherwise (CI)."""

from __future__ import annotations

import logging
import sys
import threading
import time
from typing import Any

from chalicelib.compute.base import JobStatus

log = logging.getLogger("newsops.progress")


class JobProgress:
    """Receives the local compute's status callbacks (from worker threads)."""

    def __init__(self, *, tty: bool | None = None, interval_s: float = 5.0) -> None:
        self.tty = sys.stderr.isatty() if tty is None else tty
        self.interval_s = interval_s
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}
        self._progress: Any = None
        self._bars: dict[str, Any] = {}

    def __enter__(self) -> JobProgress:
        if self.tty:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

            self._progress = Progress("[bold]{task.description}", BarColumn(), MofNCompleteColumn(),
                                      TimeElapsedColumn(), transient=False)
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def __call__(self, status: JobStatus) -> None:
        total = status.array_size or 1
        done = status.children.get("SUCCEEDED", 0) + status.children.get("FAILED", 0)
        label = status.name.rsplit("-", 1)[-1]
        with self._lock:
            if self._progress is not None:
                bar = self._bars.get(status.job_id)
                if bar is None:
                    bar = self._bars[status.job_id] = self._progress.add_task(f"task {label}", total=total)
                self._progress.update(bar, completed=done)
                return
            now = time.monotonic()
            if done < total and now - self._last.get(status.job_id, 0.0) < self.interval_s:
                return
            self._last[status.job_id] = now
        failed = status.children.get("FAILED", 0)
        log.info("task %s: %d/%d chunks done%s", label, done, total, f", {failed} failed" if failed else "")
