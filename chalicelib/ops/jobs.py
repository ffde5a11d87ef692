"""The pipeline's jobs as the reaper and the status API see them, whichever process started them.

On AWS that is the Batch compute adapter itself: ListJobs sees every job on the queue. The
local compute only knows the jobs of its own process, so here the view reads the registry
it keeps (``<home>/jobs/<job id>.json``: owner pid, worker process groups) and can stop
workers whose owner is gone: the orphans a crashed ``newsops`` leaves behind.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
from pathlib import Path
from typing import Any, Protocol

from chalicelib.clock import SYSTEM_CLOCK, Clock
from chalicelib.compute.base import ACTIVE_STATES, JobStatus
from chalicelib.compute.local import process_start_time

log = logging.getLogger("newsops.ops.jobs")

RUN_ID_TAG = "newsops-run-id"
TASK_TAG = "newsops-task"
ORPHAN_TAG = "newsops-orphaned"
# keys.run_id ends in 16 hex digits; job names are "<run id>-<task>".
_JOB_NAME = re.compile(r"^(?P<run>.+-[0-9a-f]{16})-(?P<task>[a-z][a-z0-9_-]*)$")


class JobControl(Protocol):
    def list_jobs(self, *, name_prefix: str = "", states: tuple[str, ...] = ACTIVE_STATES
                  ) -> list[JobStatus]: ...

    def terminate(self, job_id: str, reason: str) -> None: ...


def run_id_of(job: JobStatus) -> str | None:
    if job.tags.get(RUN_ID_TAG):
        return job.tags[RUN_ID_TAG]
    m = _JOB_NAME.match(job.name)
    return m.group("run") if m else None


def task_of(job: JobStatus) -> str | None:
    if job.tags.get(TASK_TAG):
        return job.tags[TASK_TAG]
    m = _JOB_NAME.match(job.name)
    return m.group("task") if m else None


def job_control_for(rt: Any) -> JobControl:
    """The registry view for the local compute (it sees other processes' jobs), else the port."""
    from chalicelib.compute.local import LocalCompute

    if isinstance(rt.compute, LocalCompute):
        return LocalJobRegistry(rt.compute.home / "jobs", owner=rt.compute, clock=rt.clock)
    return rt.compute


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has finished
    except (FileNotFoundError, IndexError):
        return True  # no /proc (macOS): kill(0) said it exists


def _group_alive(pgid: int, started: float | None) -> bool:
    """The worker's group still exists and is that worker's (not a recycled pid).

    ``started`` is the kernel's start time of the worker as its owner read it
    (:func:`process_start_time`): the same reading again means the same process. It is never
    compared with a wall-clock "now", which may be a test's clock or shifted."""
    if not _alive(pgid):
        return False
    try:
        if os.getpgid(pgid) != pgid:
            return False
    except ProcessLookupError:
        return False
    if started is None:
        return True  # psutil was missing where the owner ran: the pid is all we know
    now_started = process_start_time(pgid)
    if now_started is None:
        return _alive(pgid)  # psutil missing here, or the process just ended
    return abs(now_started - started) < 0.5


class LocalJobRegistry:
    """Jobs of every local compute on this home, read from their registry files."""

    def __init__(self, directory: Path, *, owner: Any = None, clock: Clock | None = None) -> None:
        self.directory = Path(directory)
        self.owner = owner  # this process's LocalCompute: terminate through it when it owns the job
        self.clock = clock or SYSTEM_CLOCK

    def _docs(self) -> list[dict[str, Any]]:
        out = []
        for path in sorted(self.directory.glob("*.json")):
            try:
                out.append(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError):
                continue  # being replaced right now; the next pass reads it
        return out

    def _status(self, doc: dict[str, Any]) -> JobStatus:
        status = doc.get("status", "FAILED")
        tags = {str(k): str(v) for k, v in (doc.get("tags") or {}).items()}
        pgids = [int(p) for p in doc.get("pgids") or []]
        if status in ACTIVE_STATES:
            owner_alive = _alive(int(doc.get("owner_pid") or 0)) if doc.get("owner_pid") else False
            started = doc.get("pgid_started") or {}
            workers_alive = [p for p in pgids if _group_alive(p, started.get(str(p)))]
            if not owner_alive:
                if workers_alive:
                    tags[ORPHAN_TAG] = "true"  # running, but nobody will ever collect it
                else:
                    status = "FAILED"  # its owner died and took its workers along
            pgids = workers_alive
        tags["pgids"] = ",".join(map(str, pgids))
        return JobStatus(job_id=str(doc["job_id"]), name=str(doc.get("name", "")), status=status,
                         reason=str(doc.get("reason") or ""), children=dict(doc.get("children") or {}),
                         tags=tags, created=doc.get("created"), stopped=doc.get("stopped"))

    def list_jobs(self, *, name_prefix: str = "", states: tuple[str, ...] = ACTIVE_STATES
                  ) -> list[JobStatus]:
        jobs = [self._status(d) for d in self._docs() if str(d.get("name", "")).startswith(name_prefix)]
        return [j for j in jobs if j.status in states]

    def terminate(self, job_id: str, reason: str) -> None:
        if self.owner is not None:
            try:
                self.owner.terminate(job_id, reason)
                return
            except KeyError:
                pass  # another process's job
        path = self.directory / f"{job_id}.json"
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise KeyError(f"unknown job {job_id}") from exc
        started = doc.get("pgid_started") or {}
        for pgid in doc.get("pgids") or []:
            if _group_alive(int(pgid), started.get(str(pgid))):
                try:
                    os.killpg(int(pgid), signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
        log.warning("job %s (%s) stopped: %s", job_id, doc.get("name"), reason,
                    extra={"job_id": job_id, "stopped_at": self.clock.now()})
