"""How long a run's Batch jobs may take as a whole: the workflow's and the reaper's outer bound.

Each array child has its own limit, ``attempts x timeout_s`` (Batch's attemptDurationSeconds,
retried up to ``attempts`` times). A whole array cannot be bounded that way: the compute
environment runs ``max_parallel_jobs`` children at once, shared by every task of the run, so a
10,000-chunk run goes in waves. The bound of a job is therefore the run's waves times the
longest child, plus the allowance for waiting in the queue:

    waves = ceil(children of the run, all tasks / jobs running at once)
    limit = waves x max(attempts x timeout_s) + queue_wait_s

A healthy run cannot take longer (every child ends within its own limit and a slot is never
idle while children wait), and a small run (children <= parallelism) keeps the per-child
bound it always had. Step Functions ends a standard execution after one year, so no bound is
set beyond that.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

from chalicelib.settings import Settings

# A standard Step Functions execution runs at most one year: a longer Task timeout means nothing.
MAX_WORKFLOW_TIMEOUT_S = 365 * 24 * 3600


@dataclass(frozen=True)
class ChildLimit:
    """One task's children as the limit counts them."""

    children: int  # 1 for a single job
    attempts: int
    timeout_s: int

    @property
    def child_s(self) -> int:
        return self.attempts * self.timeout_s


def parallel_jobs(settings: Settings) -> int:
    """Children that run at once: the local workers, or the compute environment's setting."""
    if settings.backend == "local":
        return settings.workers or os.cpu_count() or 1
    return settings.max_parallel_jobs


def waves(children: int, settings: Settings) -> int:
    return max(1, -(-children // parallel_jobs(settings)))


def run_limit_s(tasks: Iterable[ChildLimit], settings: Settings, *, extra_children: int = 0) -> int:
    """The outer bound of every job of a run whose tasks are ``tasks``. ``extra_children``:
    children of other runs known to share the queue (the reaper sees them; ingest cannot)."""
    tasks = list(tasks)
    if not tasks:
        return settings.queue_wait_s
    children = sum(max(1, t.children) for t in tasks) + max(0, extra_children)
    longest = max(t.child_s for t in tasks)
    return min(waves(children, settings) * longest + settings.queue_wait_s, MAX_WORKFLOW_TIMEOUT_S)
