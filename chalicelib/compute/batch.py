"""The compute port on AWS Batch: submit, describe, list a run's jobs, terminate them.

Jobs are named ``<run id>-<task>`` and tagged with the run id (docs/design.md §10), so the
cleanup function and the reaper find a run's jobs by name prefix on the queue. An array
job's children are not listed: terminating the parent stops them all. ``usage`` does describe
them (``<parent id>:<index>``), because each child's attempts are what the run cost.
"""

from __future__ import annotations

import json
import re
from typing import Any

from chalicelib.compute.base import (
    ACTIVE_STATES,
    AttemptUsage,
    Compute,
    JobRequest,
    JobStatus,
)
from chalicelib.compute.retry_policy import EXIT_RULES, api_rules

_JOB_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
MAX_OVERRIDES_CHARS = 8192
MIN_ATTEMPT_DURATION_S = 60
DESCRIBE_BATCH = 100  # DescribeJobs takes at most 100 ids
ALL_STATES = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED")


def _seconds(ms: int | None) -> float | None:
    return ms / 1000.0 if ms else None


def submit_job_request(request: JobRequest, default_queue: str) -> dict[str, Any]:
    """The SubmitJob arguments of a request, validated as Batch validates them."""
    if request.array_size == 1 or request.array_size < 0 or request.array_size > 10_000:
        raise ValueError(f"array size must be 0 (single job) or 2..10000, got {request.array_size}")
    if request.attempts is not None and not 1 <= request.attempts <= 10:
        raise ValueError(f"attempts must be 1..10, got {request.attempts}")
    if not _JOB_NAME.match(request.name):
        raise ValueError(f"invalid Batch job name {request.name!r}: up to 128 of [A-Za-z0-9_-]")
    if request.timeout_s is not None and request.timeout_s < MIN_ATTEMPT_DURATION_S:
        raise ValueError(f"attemptDurationSeconds must be >= {MIN_ATTEMPT_DURATION_S}, got {request.timeout_s}")
    kwargs: dict[str, Any] = {
        "jobName": request.name,
        "jobQueue": request.queue or default_queue,
        "jobDefinition": request.definition,
        "propagateTags": True,
    }
    # Without one the job definition's retry strategy applies (the jobs' policy, rendered by
    # build_template); one passed here would replace it whole, rules included.
    if request.attempts is not None or request.exit_rules is not None:
        kwargs["retryStrategy"] = {"attempts": request.attempts or 1,
                                   "evaluateOnExit": api_rules(request.exit_rules if request.exit_rules is not None
                                                               else EXIT_RULES)}
    if request.tags:
        kwargs["tags"] = dict(request.tags)
    if request.array_size:
        kwargs["arrayProperties"] = {"size": request.array_size}
    if request.timeout_s is not None:
        kwargs["timeout"] = {"attemptDurationSeconds": request.timeout_s}
    overrides: dict[str, Any] = {}
    if request.environment:
        overrides["environment"] = [{"name": k, "value": v} for k, v in request.environment.items()]
    if request.command:
        overrides["command"] = list(request.command)
    if overrides:
        if len(json.dumps(overrides)) > MAX_OVERRIDES_CHARS:
            raise ValueError(f"container overrides exceed Batch's {MAX_OVERRIDES_CHARS} characters")
        kwargs["containerOverrides"] = overrides
    return kwargs


class BatchCompute(Compute):
    def __init__(self, queue: str, client: Any) -> None:
        if not queue:
            raise ValueError("BatchCompute needs a job queue (NEWSOPS_JOB_QUEUE)")
        self.queue = queue
        self._batch = client

    def submit(self, request: JobRequest) -> str:
        resp = self._batch.submit_job(**submit_job_request(request, self.queue))
        return str(resp["jobId"])

    def describe(self, job_id: str) -> JobStatus:
        jobs = self._batch.describe_jobs(jobs=[job_id]).get("jobs") or []
        if not jobs:
            raise KeyError(f"unknown job {job_id}")
        return self._status(jobs[0])

    def list_jobs(self, *, name_prefix: str = "", states: tuple[str, ...] = ACTIVE_STATES) -> list[JobStatus]:
        paginator = self._batch.get_paginator("list_jobs")
        if name_prefix:
            # With a filter, ListJobs ignores jobStatus and returns every status: filter here.
            # The name filter is case-insensitive; a run id is not, so compare exactly too.
            pages = [paginator.paginate(jobQueue=self.queue, filters=[
                {"name": "JOB_NAME", "values": [f"{name_prefix}*"]}])]
        else:
            pages = [paginator.paginate(jobQueue=self.queue, jobStatus=s) for s in states]
        seen: dict[str, JobStatus] = {}
        for pager in pages:
            for page in pager:
                for summary in page.get("jobSummaryList", []):
                    job_id = summary["jobId"]
                    if ":" in job_id:  # an array child, "<parent id>:<index>"
                        continue
                    if summary["status"] in states and summary["jobName"].startswith(name_prefix):
                        seen[job_id] = self._status(summary)
        return list(seen.values())

    def usage(self, run_id: str) -> list[AttemptUsage]:
        """Every attempt Batch recorded for the run's jobs: startedAt/stoppedAt, and the vCPUs
        and GPUs each job was given (its container's resource requirements)."""
        parents = self.list_jobs(name_prefix=f"{run_id}-", states=ALL_STATES)
        out: list[AttemptUsage] = []
        for parent in self._describe_many([p.job_id for p in parents]):
            size = int((parent.get("arrayProperties") or {}).get("size", 0) or 0)
            if size:
                children = self._describe_many([f"{parent['jobId']}:{i}" for i in range(size)])
            else:
                children = [parent]
            for child in children:
                out += _attempt_usage(child, parent["jobName"])
        return out

    def _describe_many(self, ids: list[str]) -> list[dict[str, Any]]:
        jobs: list[dict[str, Any]] = []
        for start in range(0, len(ids), DESCRIBE_BATCH):
            jobs += self._batch.describe_jobs(jobs=ids[start:start + DESCRIBE_BATCH]).get("jobs") or []
        return jobs

    def terminate(self, job_id: str, reason: str) -> None:
        # Terminating a finished job is a no-op in Batch; for an array parent it stops every child.
        self._batch.terminate_job(jobId=job_id, reason=reason[:1024] or "terminated by newsops")

    @staticmethod
    def _status(job: dict[str, Any]) -> JobStatus:
        array = job.get("arrayProperties") or {}
        attempts = []
        for a in job.get("attempts") or []:
            container = a.get("container") or {}
            attempts.append({"exit_code": container.get("exitCode"),
                             "reason": container.get("reason") or a.get("statusReason", ""),
                             "started": _seconds(a.get("startedAt")), "stopped": _seconds(a.get("stoppedAt")),
                             "log": container.get("logStreamName")})
        return JobStatus(
            job_id=job["jobId"], name=job["jobName"], status=job["status"],
            reason=job.get("statusReason", ""), array_size=int(array.get("size", 0) or 0),
            children={k: v for k, v in (array.get("statusSummary") or {}).items() if v},
            attempts=attempts, tags=dict(job.get("tags") or {}),
            created=_seconds(job.get("createdAt")), started=_seconds(job.get("startedAt")),
            stopped=_seconds(job.get("stoppedAt")),
        )


def _resources(job: dict[str, Any]) -> tuple[int | None, int | None]:
    """(vCPUs, GPUs) a described job was given; None where the description does not say (the
    task's job definition then tells). GPUs only exist as resource requirements: a job
    described with them and without a GPU entry has none."""
    container = job.get("container") or {}
    listed = container.get("resourceRequirements")
    reqs = {r.get("type"): r.get("value") for r in listed or []}
    try:
        vcpus = reqs.get("VCPU") or container.get("vcpus")
        cpus = int(float(vcpus)) if vcpus is not None else None
    except (TypeError, ValueError):
        cpus = None
    try:
        gpus = int(reqs.get("GPU") or 0) if listed is not None else None
    except (TypeError, ValueError):
        gpus = None
    return cpus, gpus


def _attempt_usage(job: dict[str, Any], name: str) -> list[AttemptUsage]:
    """One entry per attempt that started and stopped (one still running has no length yet)."""
    job_id = str(job.get("jobId", ""))
    index = int(job_id.rsplit(":", 1)[1]) if ":" in job_id else 0
    vcpus, gpus = _resources(job)
    attempts = job.get("attempts") or []
    out = []
    for n, a in enumerate(attempts, 1):
        started, stopped = a.get("startedAt"), a.get("stoppedAt")
        if not started or not stopped:
            continue
        code = (a.get("container") or {}).get("exitCode")
        if code is None and n == len(attempts) and job.get("status") == "SUCCEEDED":
            code = 0  # the attempt that made the job succeed, whatever the record leaves out
        out.append(AttemptUsage(job_name=name, index=index, attempt=n,
                                wall_s=max(0.0, (stopped - started) / 1000.0), exit_code=code,
                                vcpus=vcpus, gpus=gpus))
    return out
