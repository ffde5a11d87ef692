"""Batch for scale tests: array children run as calls in this process, not one worker process each.

A 10,000-child array of real worker processes takes the local compute ~25 minutes per task on
2 cores (a process start per child, and its registry rewritten whole on every child's
transition), so the scale tests swap the compute port for this one. What a child does is the
trivial task's work through the real store: read its chunk (checked against the manifest's
sha256), write one result record per article with the metadata verify checks. Everything the
workflow, the reaper and verify see goes through the same ports as in production.

``hold`` keeps every child waiting (jobs stay RUNNING) until the test sets it, so the reaper
can look at a big run while it is running.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from chalicelib.clock import Clock
from chalicelib.compute.base import ACTIVE_STATES, Compute, JobRequest, JobStatus
from chalicelib.contract import keys
from chalicelib.contract.schema import ResultRecord, RunManifest
from chalicelib.jsonl import encode, iter_records
from chalicelib.store.base import ObjectStore


@dataclass
class _Job:
    job_id: str
    request: JobRequest
    created: float
    status: str = "RUNNABLE"
    reason: str = ""
    done_children: int = 0
    finished: threading.Event = field(default_factory=threading.Event)
    terminated: str | None = None


class InProcessBatch(Compute):
    def __init__(self, store: ObjectStore, clock: Clock, *, hold: threading.Event | None = None) -> None:
        self.store = store
        self.clock = clock
        self.hold = hold
        self.jobs: dict[str, _Job] = {}
        self.children_run = 0
        self._lock = threading.Lock()

    def submit(self, request: JobRequest) -> str:
        if request.array_size == 1 or not 0 <= request.array_size <= 10_000:
            raise ValueError(f"array size must be 0 (single job) or 2..10000, got {request.array_size}")
        job = _Job(str(uuid.uuid4()), request, created=self.clock.now())
        with self._lock:
            self.jobs[job.job_id] = job
        threading.Thread(target=self._run, args=(job,), daemon=True, name=f"inproc-{request.name[-20:]}").start()
        return job.job_id

    def _run(self, job: _Job) -> None:
        env = job.request.environment
        rid, task = env["NEWSOPS_RUN_ID"], env["NEWSOPS_TASK"]
        job.status = "RUNNING"
        if self.hold is not None:
            self.hold.wait()
        try:
            manifest = RunManifest.model_validate_json(self.store.get(keys.manifest(rid)))
            plan = env.get("NEWSOPS_CHUNK_PLAN")
            chunks = (json.loads(self.store.get(plan))["chunks"] if plan
                      else list(range(job.request.array_size or 1)))
            for n in chunks:
                if job.terminated:
                    raise RuntimeError(f"terminated: {job.terminated}")
                self._child(manifest, task, n)
                job.done_children += 1
                with self._lock:
                    self.children_run += 1
            job.status = "SUCCEEDED"
        except Exception as exc:  # noqa: BLE001 - a failed job, as Batch reports it
            job.status, job.reason = "FAILED", f"{type(exc).__name__}: {exc}"
        finally:
            job.finished.set()

    def _child(self, manifest: RunManifest, task: str, n: int) -> None:
        chunk = manifest.chunks[n]
        data = self.store.get(chunk.key)
        if hashlib.sha256(data).hexdigest() != chunk.sha256:
            raise ValueError(f"chunk {chunk.key} does not match the manifest")
        results = [ResultRecord(id=a["id"], task=task, language=a.get("language"),
                                output={"label": "short", "score": 1.0, "model_version": "t1"}).model_dump()
                   for a in iter_records(io.BytesIO(data))]
        self.store.put(keys.result(manifest.run_id, task, n), encode(results), metadata={
            "records": str(len(results)), "quarantined": "0", "input_sha256": chunk.sha256,
            "model_version": "t1", "seconds": "0"})

    def _status(self, job: _Job) -> JobStatus:
        size = job.request.array_size
        n = size or 1
        children = {"SUCCEEDED": job.done_children, job.status: n - job.done_children} \
            if job.status != "SUCCEEDED" else {"SUCCEEDED": n}
        return JobStatus(job_id=job.job_id, name=job.request.name, status=job.status,  # type: ignore[arg-type]
                         reason=job.reason, array_size=size, children={k: v for k, v in children.items() if v},
                         tags=dict(job.request.tags), created=job.created)

    def describe(self, job_id: str) -> JobStatus:
        return self._status(self.jobs[job_id])

    def list_jobs(self, *, name_prefix: str = "", states: tuple[str, ...] = ACTIVE_STATES) -> list[JobStatus]:
        with self._lock:
            jobs = list(self.jobs.values())
        return [s for s in map(self._status, jobs) if s.name.startswith(name_prefix) and s.status in states]

    def terminate(self, job_id: str, reason: str) -> None:
        job = self.jobs[job_id]
        job.terminated = reason
        if self.hold is not None:
            self.hold.set()

    def wait(self, job_id: str, *, poll_s: float = 0.05, cancelled: Any = None) -> JobStatus:
        job = self.jobs[job_id]
        while not job.finished.wait(poll_s):
            if cancelled is not None and cancelled.is_set():
                self.terminate(job_id, "workflow task cancelled")
        return self._status(job)
