"""AWS Batch on one machine: each array child is a worker process running the batch entrypoint.

Honours what Batch honours: array size (``AWS_BATCH_JOB_ARRAY_INDEX``), environment overrides,
attempts with ``evaluateOnExit`` rules, and the attempt timeout, which kills the attempt's
whole process group so that nothing it started survives (lesson 2 of docs/design.md §5).

Each attempt's usage (wall seconds, CPU seconds from the worker's rusage as it is reaped, the
GPUs it could see) goes into the job's registry file, so the verifier prices the run from any
process (``usage``).
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from chalicelib.clock import SYSTEM_CLOCK, Clock
from chalicelib.compute.base import (
    ACTIVE_STATES,
    AttemptUsage,
    Compute,
    JobRequest,
    JobStatus,
)
from chalicelib.compute.retry_policy import RetryStrategy, exit_code_as_batch_reports

log = logging.getLogger("newsops.compute.local")

DEFAULT_COMMAND = [sys.executable, "-m", "newsops_batch"]
# A job definition registered without a retry strategy: one attempt, as on Batch.
NO_RETRY_STRATEGY = RetryStrategy(attempts=1)
TIMEOUT_REASON = "Job attempt duration exceeded timeout"
WRITE_THROUGH_CHILDREN = 64
PERSIST_EVERY_S = 0.5

ProgressCallback = Callable[[JobStatus], None]


@dataclass
class _Child:
    index: int
    state: str = "RUNNABLE"
    attempts: list[dict] = field(default_factory=list)
    proc: subprocess.Popen | None = None
    proc_started: float | None = None  # the kernel's start time of proc: who it is, not when


@dataclass
class _Job:
    job_id: str
    request: JobRequest
    children: list[_Child]
    created: float
    retry: RetryStrategy = NO_RETRY_STRATEGY
    started: float | None = None
    stopped: float | None = None
    terminated: str | None = None
    done: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Orders registry writes: each takes its status inside this lock, so the last file written
    # holds the newest state (two children finishing together once left a stale RUNNING file
    # behind, and the reaper then stopped a finished job).
    persist_lock: threading.Lock = field(default_factory=threading.Lock)
    finished: threading.Event = field(default_factory=threading.Event)
    # Coalesced registry writes of a big array (the file lists every child: one write per
    # child event made a 10,000-child job quadratic, ~9 minutes of writes).
    persisted_at: float = 0.0
    flush: threading.Timer | None = None


class LocalCompute(Compute):
    def __init__(
        self,
        home: Path,
        *,
        workers: int = 0,
        base_env: dict[str, str] | None = None,
        commands: dict[str, list[str]] | None = None,
        retry: Mapping[str, RetryStrategy] | None = None,
        on_progress: ProgressCallback | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.home = Path(home).resolve()
        # Job times are compared with the reaper's "now": both come from the runtime's clock.
        self.clock = clock or SYSTEM_CLOCK
        self.workers = workers or os.cpu_count() or 1
        self.base_env = dict(base_env or {})
        # The local stand-in for job definitions: a definition's command, else the entrypoint.
        self.commands = dict(commands or {})
        # ... and its retry strategy (retry_policy.job_definitions), what a SubmitJob without
        # one gets on Batch.
        self.retry = dict(retry or {})
        self.on_progress = on_progress
        self._jobs: dict[str, _Job] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="newsops-worker")
        self._registry = self.home / "jobs"
        self._registry.mkdir(parents=True, exist_ok=True)
        self._machine_gpus = machine_gpus()

    # -- port -----------------------------------------------------------------------------
    def submit(self, request: JobRequest) -> str:
        if request.array_size == 1 or request.array_size < 0 or request.array_size > 10_000:
            # Same validation as Batch: an array has 2..10,000 children.
            raise ValueError(f"array size must be 0 (single job) or 2..10000, got {request.array_size}")
        retry = self.retry_strategy(request)
        job_id = str(uuid.uuid4())
        n = request.array_size or 1
        job = _Job(job_id, request, [_Child(i) for i in range(n)], created=self.clock.now(), retry=retry)
        with self._lock:
            self._jobs[job_id] = job
        self._persist(job)
        remaining = Counter({"left": n})

        def run_child(child: _Child) -> None:
            try:
                self._run_child(job, child)
            except Exception as exc:  # noqa: BLE001 - this machine's fault (a read-only or full
                # disk for the log), not the job's: the child fails with the cause, nothing waits.
                log.error("job %s child %d could not run: %s", job_id, child.index, exc)
                child.state = "FAILED"
                child.attempts.append({"exit_code": None, "reason": f"could not run: {exc}"[:500]})
            finally:
                with job.lock:
                    remaining["left"] -= 1
                    if remaining["left"] == 0:
                        job.done = True
                        job.stopped = self.clock.now()
                try:
                    # Persist before waking waiters, so the registry file is never behind them.
                    self._persist(job, now=job.done)
                    if self.on_progress:
                        self.on_progress(self._status(job))
                except OSError as exc:
                    log.error("job %s: its registry file could not be written: %s", job_id, exc)
                finally:
                    if job.done:
                        job.finished.set()  # a waiter never hangs on a disk that went away

        for child in job.children:
            self._pool.submit(run_child, child)
        return job_id

    def retry_strategy(self, request: JobRequest) -> RetryStrategy:
        """The job definition's retry strategy, or the one the request passes instead (which,
        as on Batch, replaces it; its rules default to the jobs' policy)."""
        defined = self.retry.get(request.definition, NO_RETRY_STRATEGY)
        if request.attempts is None and request.exit_rules is None:
            return defined
        return RetryStrategy(request.attempts if request.attempts is not None else defined.attempts,
                             tuple(request.exit_rules) if request.exit_rules is not None else defined.rules)

    def describe(self, job_id: str) -> JobStatus:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise KeyError(f"unknown job {job_id}")
        return self._status(job)

    def list_jobs(self, *, name_prefix: str = "", states: tuple[str, ...] = ACTIVE_STATES) -> list[JobStatus]:
        with self._lock:
            jobs = list(self._jobs.values())
        out = [self._status(j) for j in jobs if j.request.name.startswith(name_prefix)]
        return [s for s in out if s.status in states]

    def terminate(self, job_id: str, reason: str, *, wait_s: float = 30.0) -> None:
        """Kill the job's running process groups, fail its pending children, and return once
        nothing of it runs (bounded), so "no job left running" holds when the caller goes on."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise KeyError(f"unknown job {job_id}")
        with job.lock:
            if job.terminated is None:
                job.terminated = reason
            for child in job.children:
                if child.state == "RUNNABLE":
                    # Not started: it never will be (its pool slot sees `terminated` and returns).
                    child.state = "FAILED"
                    child.attempts.append({"reason": f"terminated: {reason}", "exit_code": None})
            procs = [c.proc for c in job.children if c.proc is not None]
        for proc in procs:
            _kill_group(proc)
        deadline = time.monotonic() + wait_s
        while self._status(job).status in ACTIVE_STATES and time.monotonic() < deadline:
            time.sleep(0.02)
        self._persist(job, now=True)

    def usage(self, run_id: str) -> list[AttemptUsage]:
        """From the registry files: jobs this process ran and those of any other on this home."""
        out: list[AttemptUsage] = []
        for path in sorted(self._registry.glob("*.json")):
            try:
                doc = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue  # being replaced this instant; its owner persists again when it ends
            name = str(doc.get("name", ""))
            if not name.startswith(f"{run_id}-"):
                continue
            out += [AttemptUsage(job_name=name, index=int(u["index"]), attempt=int(u["attempt"]),
                                 wall_s=float(u["wall_s"]), exit_code=u.get("exit_code"),
                                 cpu_s=u.get("cpu_s"), gpus=u.get("gpus"))
                    for u in doc.get("usage") or []]
        return out

    def wait(self, job_id: str, *, poll_s: float = 0.2, cancelled: threading.Event | None = None) -> JobStatus:
        with self._lock:
            job = self._jobs[job_id]
        while not job.finished.wait(poll_s):
            if cancelled is not None and cancelled.is_set():
                self.terminate(job_id, "workflow task cancelled")
                break
        return self._status(job)

    def shutdown(self) -> None:
        with self._lock:
            jobs = list(self._jobs.values())
        for job in jobs:
            if not job.done:
                self.terminate(job.job_id, "compute shut down")
        self._pool.shutdown(wait=True)

    # -- internals ------------------------------------------------------------------------
    def _run_child(self, job: _Job, child: _Child) -> None:
        req = job.request
        log_dir = self.home / "logs" / req.name
        log_dir.mkdir(parents=True, exist_ok=True)
        for attempt in range(job.retry.attempts):
            env = {**os.environ, **self.base_env, **req.environment,
                   "AWS_BATCH_JOB_ID": f"{job.job_id}:{child.index}" if req.array_size else job.job_id,
                   "AWS_BATCH_JOB_ATTEMPT": str(attempt + 1),
                   "AWS_BATCH_JQ_NAME": req.queue}
            if req.array_size:
                env["AWS_BATCH_JOB_ARRAY_INDEX"] = str(child.index)
            log_path = log_dir / f"{child.index:05d}.{attempt + 1}.log"
            started = self.clock.now()
            # A duration, not a "now": the runtime's clock may be a test's manual one.
            began = time.monotonic()
            gpus = visible_gpus(env, self._machine_gpus)
            command = req.command or self.commands.get(req.definition) or DEFAULT_COMMAND
            with open(log_path, "wb") as log:
                # Started under the job's lock: terminate() then either sees this process or
                # has already marked the job, so no attempt can slip past a termination.
                with job.lock:
                    if job.terminated:
                        if child.state != "FAILED":  # terminate() already recorded a pending child
                            child.state = "FAILED"
                            child.attempts.append({"reason": f"terminated: {job.terminated}",
                                                   "exit_code": None})
                        return
                    child.state = "RUNNING"
                    job.started = job.started or self.clock.now()
                    # A new session makes the attempt a process-group leader: a timeout or a
                    # terminate kills everything it started, grandchildren included.
                    proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True,
                                            cwd=os.getcwd())
                    child.proc = proc
                    child.proc_started = process_start_time(proc.pid)
                self._persist(job)
                code: int | None
                try:
                    code, rusage = wait_with_rusage(proc, req.timeout_s)
                    reason = "Essential container in task exited"
                except subprocess.TimeoutExpired:
                    _kill_group(proc)
                    _, rusage = wait_with_rusage(proc, None)
                    code = None
                    reason = f"{TIMEOUT_REASON} ({req.timeout_s}s)"
                wall_s = time.monotonic() - began
                # Leftovers of a finished attempt die with it, as when a container stops.
                _kill_group(proc)
                with job.lock:
                    child.proc = None
                    child.proc_started = None
                    if job.terminated and code != 0:
                        reason = f"terminated: {job.terminated}"
            child.attempts.append({"exit_code": code if code is None or code >= 0 else None,
                                   "signal": -code if code is not None and code < 0 else None,
                                   "reason": reason, "started": started, "stopped": self.clock.now(),
                                   "log": str(log_path), "wall_s": round(wall_s, 3),
                                   "cpu_s": None if rusage is None else round(rusage.ru_utime + rusage.ru_stime, 3),
                                   "gpus": gpus})
            if code == 0:
                child.state = "SUCCEEDED"
                return
            if job.terminated or reason.startswith(TIMEOUT_REASON):
                break  # Batch retries neither a terminated job nor a timed-out attempt
            # The rules see what Batch would report: a signal N as exit code 128 + N (the OOM
            # killer's SIGKILL is 137), the attempt's reason as its statusReason; a local
            # worker has no container reason.
            if job.retry.action(exit_code_as_batch_reports(code), reason="", status_reason=reason) == "EXIT":
                break
        child.state = "FAILED"

    def _status(self, job: _Job) -> JobStatus:
        with job.lock:
            states = Counter(c.state for c in job.children)
            if job.done:
                status = "SUCCEEDED" if states.get("SUCCEEDED", 0) == len(job.children) else "FAILED"
            elif job.terminated and not states.get("RUNNING"):
                status = "FAILED"  # killed; the pool threads only have bookkeeping left
            elif states.get("RUNNING"):
                status = "RUNNING"
            else:
                status = "RUNNABLE"
            reason = job.terminated or ""
            if status == "FAILED" and not reason:
                failed = [c for c in job.children if c.state == "FAILED"]
                last = failed[0].attempts[-1] if failed and failed[0].attempts else {}
                reason = (f"{len(failed)} of {len(job.children)} children failed; "
                          f"child {failed[0].index}: {last.get('reason', '')} "
                          f"(exit code {last.get('exit_code')})") if failed else "failed"
            attempts = [dict(a, index=c.index) for c in job.children for a in c.attempts]
            pgids = [c.proc.pid for c in job.children if c.proc is not None]
        return JobStatus(job_id=job.job_id, name=job.request.name, status=status, reason=reason,  # type: ignore[arg-type]
                         array_size=job.request.array_size, children=dict(states),
                         attempts=attempts, tags=dict(job.request.tags, pgids=",".join(map(str, pgids))),
                         created=job.created, started=job.started, stopped=job.stopped)

    def _persist(self, job: _Job, *, now: bool = False) -> None:
        """A file per job, so the reaper in another process can find and stop its workers.

        Small jobs write through. A big array writes at most every PERSIST_EVERY_S seconds: a
        change in between is written by a timer that is already due, so the file is never more
        than that behind (a worker's pid included)."""
        with job.persist_lock:
            wait = PERSIST_EVERY_S - (time.monotonic() - job.persisted_at)
            if now or len(job.children) <= WRITE_THROUGH_CHILDREN or wait <= 0:
                self._write_registry(job)
                job.persisted_at = time.monotonic()
            elif job.flush is None:
                job.flush = threading.Timer(wait, self._flush, args=(job,))
                job.flush.daemon = True
                job.flush.start()

    def _flush(self, job: _Job) -> None:
        with job.persist_lock:
            job.flush = None
            try:
                self._write_registry(job)
            except OSError as exc:
                log.error("job %s: its registry file could not be written: %s", job.job_id, exc)
            job.persisted_at = time.monotonic()

    def _write_registry(self, job: _Job) -> None:
        s = self._status(job)
        with job.lock:
            starts = {str(c.proc.pid): c.proc_started for c in job.children
                      if c.proc is not None and c.proc_started is not None}
            usage = [{"index": c.index, "attempt": n, "wall_s": a["wall_s"], "exit_code": a.get("exit_code"),
                      "cpu_s": a.get("cpu_s"), "gpus": a.get("gpus")}
                     for c in job.children for n, a in enumerate(c.attempts, 1) if "wall_s" in a]
        doc = {"job_id": s.job_id, "name": s.name, "status": s.status, "reason": s.reason,
               "children": s.children, "tags": job.request.tags, "created": s.created,
               "stopped": s.stopped, "owner_pid": os.getpid(),
               "pgids": [int(p) for p in s.tags["pgids"].split(",") if p], "pgid_started": starts,
               "usage": usage}
        tmp = self._registry / f".{job.job_id}.{threading.get_ident()}.tmp"
        tmp.write_text(json.dumps(doc))
        os.replace(tmp, self._registry / f"{job.job_id}.json")


def process_start_time(pid: int) -> float | None:
    """When the kernel started ``pid``, as psutil reports it; None without psutil or process.

    Only ever compared with another reading of this function, to tell a worker from a process
    that later got its recycled pid: unlike the job's own times it does not depend on the
    runtime's clock (a test's manual clock, a shifted wall clock)."""
    try:
        import psutil

        return float(psutil.Process(pid).create_time())
    except Exception:  # noqa: BLE001 - psutil missing, or the process already gone
        return None


def wait_with_rusage(proc: subprocess.Popen, timeout: float | None) -> tuple[int, os.struct_rusage | None]:
    """``proc.wait(timeout)`` that also returns the child's resource usage: reaping it with
    ``os.wait4`` gives its CPU time (its own and its waited-for children's) at no extra cost."""
    deadline = None if timeout is None else time.monotonic() + timeout
    delay = 0.0005
    while True:
        try:
            pid, status, rusage = os.wait4(proc.pid, 0 if deadline is None else os.WNOHANG)
        except ChildProcessError:
            return proc.wait(), None  # reaped already (never by this module): no usage to read
        if pid == proc.pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.returncode, rusage
        assert deadline is not None
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise subprocess.TimeoutExpired(proc.args, timeout or 0)
        time.sleep(min(delay, remaining))
        delay = min(delay * 2, 0.05)  # Popen.wait's own polling schedule


_NVIDIA_DEVICE = re.compile(r"^nvidia\d+$")


def machine_gpus() -> int:
    """NVIDIA GPUs of this machine, from the driver's files (no CUDA initialisation): 0 without."""
    try:
        return len(os.listdir("/proc/driver/nvidia/gpus"))
    except OSError:
        pass
    try:
        return sum(1 for n in os.listdir("/dev") if _NVIDIA_DEVICE.match(n))
    except OSError:
        return 0


def visible_gpus(env: Mapping[str, str], machine: int) -> int:
    """GPUs a worker with this environment runs on: the job places itself on CUDA when it sees
    one (newsops_batch.placement), unless NEWSOPS_DEVICE=cpu."""
    if env.get("NEWSOPS_DEVICE", "").strip().lower() == "cpu":
        return 0
    listed = env.get("CUDA_VISIBLE_DEVICES")
    if listed is None:
        return machine
    n = 0
    for entry in listed.split(","):
        if not entry.strip() or entry.strip().startswith("-"):
            break  # CUDA ignores the list from its first invalid entry on
        n += 1
    return min(n, machine)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
