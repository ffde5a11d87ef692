"""The compute port: AWS Batch semantics (array jobs, attempts, exit-code rules, timeouts)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Literal

JobState = Literal["SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED"]
ACTIVE_STATES: tuple[str, ...] = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING")


@dataclass(frozen=True)
class ExitRule:
    """One ``evaluateOnExit`` entry: the first matching rule decides RETRY or EXIT. Each set
    condition must match (globs, as Batch's): the container's exit code, the container's
    ``reason`` ("OutOfMemoryError: ...") and the attempt's ``statusReason`` ("Host EC2 ...
    terminated."). chalicelib/compute/retry_policy.py holds the jobs' rules."""

    action: Literal["RETRY", "EXIT"]
    on_exit_code: str | None = None  # glob, as Batch: "75", "6*"
    on_reason: str | None = None
    on_status_reason: str | None = None

    def matches(self, exit_code: int | None, reason: str, status_reason: str = "") -> bool:
        from fnmatch import fnmatchcase

        if self.on_exit_code is not None:
            if exit_code is None or not fnmatchcase(str(exit_code), self.on_exit_code):
                return False
        if self.on_status_reason is not None and not fnmatchcase(status_reason, self.on_status_reason):
            return False
        return self.on_reason is None or fnmatchcase(reason, self.on_reason)


@dataclass
class JobRequest:
    name: str
    queue: str
    definition: str
    array_size: int = 0  # 0 = a single job (Batch rejects arrays of size 1)
    environment: dict[str, str] = field(default_factory=dict)
    command: list[str] | None = None
    # None: the job definition's retry strategy, as a SubmitJob without ``retryStrategy``
    # (chalicelib/compute/retry_policy.py); set, it replaces the definition's, as on Batch.
    attempts: int | None = None
    timeout_s: int | None = None
    exit_rules: list[ExitRule] | None = None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class JobStatus:
    job_id: str
    name: str
    status: JobState
    reason: str = ""
    array_size: int = 0
    children: dict[str, int] = field(default_factory=dict)  # state -> count, for array jobs
    attempts: list[dict[str, Any]] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    created: float | None = None
    started: float | None = None
    stopped: float | None = None

    @property
    def done(self) -> bool:
        return self.status in ("SUCCEEDED", "FAILED")


@dataclass(frozen=True)
class AttemptUsage:
    """What one attempt of one job (array child) used: the verifier prices a run from these.

    ``cpu_s`` is the attempt's measured CPU time (user + system, from the worker's rusage)
    where the backend can measure it, else None (Batch reports no CPU time: the verifier then
    counts the vCPUs the job was given for its wall time). ``vcpus``/``gpus``: what the attempt
    was given, None where only the job definition knows; ``gpus`` is 0 off a GPU.
    """

    job_name: str
    index: int  # the array child (0 for a single job)
    attempt: int  # 1-based, as AWS_BATCH_JOB_ATTEMPT
    wall_s: float
    exit_code: int | None = None
    cpu_s: float | None = None
    vcpus: int | None = None
    gpus: int | None = None


class Compute(ABC):
    @abstractmethod
    def submit(self, request: JobRequest) -> str:
        """Submit a job (an array of ``array_size`` children when >= 2); returns its id."""

    @abstractmethod
    def describe(self, job_id: str) -> JobStatus: ...

    @abstractmethod
    def list_jobs(self, *, name_prefix: str = "", states: tuple[str, ...] = ACTIVE_STATES) -> list[JobStatus]:
        """Jobs whose name starts with ``name_prefix`` (a run id), in the given states."""

    @abstractmethod
    def terminate(self, job_id: str, reason: str) -> None:
        """Stop a job and all its children; a no-op for a finished one."""

    def usage(self, run_id: str) -> list[AttemptUsage] | None:
        """Every finished attempt of the run's jobs (named ``<run id>-<task>``), failed ones
        too, across every execution of the run; None where the backend cannot tell."""
        return None

    def wait(self, job_id: str, *, poll_s: float = 5.0, cancelled: Any = None) -> JobStatus:
        """Block until the job ends; terminate it when ``cancelled`` (a threading.Event) is set."""
        import time

        while True:
            status = self.describe(job_id)
            if status.done:
                return status
            if cancelled is not None and cancelled.is_set():
                self.terminate(job_id, "workflow task cancelled")
                return self.describe(job_id)
            if cancelled is not None:
                cancelled.wait(poll_s)
            else:
                time.sleep(poll_s)
