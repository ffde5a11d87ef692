"""The reaper: no job outlives its run (lesson 2 of docs/design.md §5: a GPU server once ran away).

Scheduled. Lists the pipeline's active jobs (SUBMITTED .. RUNNING) through the compute port
(AWS Batch, or the local worker registry), and terminates each one

- whose run is no longer running (SUCCEEDED or FAILED in the ledger),
- that is older than its limit: the run's waves of children (every task's children of the
  run and every other active job's share the compute environment's parallelism) x the longest
  child's attempts x attempt timeout + the allowance for waiting in the queue: the outer bound
  the state machine gives the job (chalicelib/joblimits.py), never one child's bound for a
  whole array,
- (local) whose owner process is gone, so nothing would ever collect it.

Jobs waiting RUNNABLE longer than the queue allowance mean no GPU capacity: one alert for
the queue, not one per job. Every stop is a stored finding: alerted once, and resolved once
the job is really gone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from chalicelib.compute.base import ACTIVE_STATES, JobStatus
from chalicelib.joblimits import ChildLimit, run_limit_s
from chalicelib.ledger.base import TERMINAL_STATES
from chalicelib.ops.findings import Finding, FindingStore, ReconcileOutcome
from chalicelib.ops.jobs import ORPHAN_TAG, JobControl, job_control_for, run_id_of, task_of
from chalicelib.runtime import Runtime
from chalicelib.settings import OpsSettings

log = logging.getLogger("newsops.ops.reaper")

CHECK_HUNG = "job-hung"
CHECK_QUEUE = "queue-stalled"
STATE_NAMESPACE = "ops-state"
STATE_KEY = "reaper"


@dataclass
class ReapOutcome:
    time: float
    active: int = 0
    terminated: list[dict[str, Any]] = field(default_factory=list)
    runnable_too_long: list[str] = field(default_factory=list)
    findings: ReconcileOutcome = field(default_factory=ReconcileOutcome)

    def to_doc(self) -> dict[str, Any]:
        return {"time": self.time, "active": self.active, "terminated": self.terminated,
                "runnable_too_long": self.runnable_too_long,
                "alerts_sent": self.findings.alerts_sent}


def job_limit_s(job: JobStatus, rt: Runtime, *, queue_children: int = 0) -> float:
    """The workflow Task's own outer bound for the job's run (chalicelib/joblimits.py).

    The run's children: every task of it over every chunk, as the ledger recorded at ingest (an
    upper bound for a retry, which reruns only the missing chunks); the job's own array when the
    ledger has no count. ``queue_children``: children of other runs' active jobs, which share
    the compute environment with this run."""
    s = rt.settings
    rid = run_id_of(job)
    run = rt.ledger.get_run(rid) if rid else None
    detail = run.detail if run else {}
    names = [str(n) for n in detail.get("tasks") or []] or [task_of(job) or ""]
    chunks = int(detail.get("chunks") or 0)
    limits = []
    for name in names:
        try:
            spec = rt.tasks.get(name)
            attempts, timeout = spec.attempts, spec.timeout_s
        except KeyError:
            attempts, timeout = s.job_attempts, s.job_timeout_s
        limits.append(ChildLimit(chunks or job.array_size or 1, attempts, timeout))
    return float(run_limit_s(limits, s, extra_children=queue_children))


def _why_stop(job: JobStatus, rt: Runtime, now: float, queue_children: int) -> str | None:
    rid = run_id_of(job)
    if job.tags.get(ORPHAN_TAG) == "true":
        return "its owner process is gone (orphaned workers)"
    if rid:
        run = rt.ledger.get_run(rid)
        if run is not None and run.state in TERMINAL_STATES:
            return f"its run {rid} is {run.state}"
    if job.created is not None:
        limit = job_limit_s(job, rt, queue_children=queue_children)
        if now - job.created > limit:
            return f"running for {now - job.created:.0f}s, over its limit of {limit:.0f}s"
    return None


def reap(rt: Runtime, *, now: float | None = None, ops: OpsSettings | None = None,
         jobs: JobControl | None = None) -> ReapOutcome:
    now = rt.clock.now() if now is None else now
    ops = ops or rt.settings.ops
    jobs = jobs or job_control_for(rt)
    out = ReapOutcome(time=now)
    active = jobs.list_jobs(states=ACTIVE_STATES)
    out.active = len(active)
    found: list[Finding] = []
    stalled: list[JobStatus] = []
    # Children of every active job, by run: another run's children delay this run's waves.
    by_run: dict[str | None, int] = {}
    for job in active:
        by_run[run_id_of(job)] = by_run.get(run_id_of(job), 0) + max(1, job.array_size, sum(job.children.values()))
    queued = sum(by_run.values())
    for job in active:
        rid, task, was = run_id_of(job), task_of(job), job.status
        why = _why_stop(job, rt, now, queued - by_run.get(rid, 0))
        if why:
            try:
                jobs.terminate(job.job_id, f"newsops reaper: {why}"[:1000])
                stopped = True
            except Exception:  # noqa: BLE001 - report it; the next pass tries again
                log.exception("could not terminate job %s", job.job_id, extra={"run_id": rid})
                stopped = False
            log.warning("job %s (%s) %s: %s", job.name, job.job_id,
                        "terminated" if stopped else "NOT terminated", why, extra={"run_id": rid})
            out.terminated.append({"job_id": job.job_id, "name": job.name, "run_id": rid,
                                   "status": was, "reason": why, "terminated": stopped})
            found.append(Finding(
                id=f"{CHECK_HUNG}:{job.job_id}", check=CHECK_HUNG,
                subject=f"job left running, {'stopped' if stopped else 'NOT stopped'}: {job.name}",
                reason=f"job {job.name} ({job.job_id}) was {was}, but {why}",
                run_id=rid, stage=f"task {task}" if task else "compute",
                counts={"children": sum(job.children.values()) or 1},
                look_at=[f"job {job.job_id}", f"newsops status {rid}" if rid else "the job queue"],
                details={"job_id": job.job_id, "job_name": job.name, "terminated": stopped}))
        elif job.status == "RUNNABLE" and job.created is not None \
                and now - job.created > rt.settings.queue_wait_s:
            stalled.append(job)
    if stalled:
        oldest = min(j.created or now for j in stalled)
        out.runnable_too_long = [j.job_id for j in stalled]
        found.append(Finding(
            id=f"{CHECK_QUEUE}:{rt.settings.job_queue or 'local'}", check=CHECK_QUEUE, severity="warning",
            subject=f"{len(stalled)} jobs waiting for capacity (RUNNABLE > {rt.settings.queue_wait_s}s)",
            reason=(f"{len(stalled)} jobs have been RUNNABLE for up to {now - oldest:.0f}s: "
                    "the compute environment has no free capacity (GPU quota, instance "
                    "availability or max vCPUs)"),
            stage="compute", counts={"jobs": len(stalled)},
            look_at=["the compute environment's desired/max vCPUs and the EC2 GPU quota",
                     *[f"job {j.name} ({j.job_id})" for j in stalled[:10]]],
            details={"jobs": [j.job_id for j in stalled[:50]]}))
    store = FindingStore(rt.ledger, rt.alerts, cooldown_s=ops.alert_cooldown_s, clock=rt.clock)
    out.findings = store.reconcile(found, checks={CHECK_HUNG, CHECK_QUEUE}, now=now)
    rt.ledger.put_state(STATE_NAMESPACE, STATE_KEY, out.to_doc())
    from chalicelib.observability import emit_metrics

    emit_metrics(rt.settings, {"JobsReaped": ("Count", len(out.terminated)),
                               "Alerts": ("Count", out.findings.alerts_sent)},
                 dimensions={"check": "reaper"})
    return out
