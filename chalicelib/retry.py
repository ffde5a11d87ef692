"""Retry a run that did not succeed: a new attempt runs only the chunks still missing.

The run keeps its id (same input bytes, same id: docs/design.md §4), so a retry is a new
*attempt* of that run, not a new run. Attempt 1 is the execution named by the run id; attempt
N > 1 is a new execution named ``<run id>-r<N-1>`` (Step Functions' redrive would re-run the
failed Map iterations whole, and a Batch array job only as a whole, so it cannot skip the chunks
already done). Chunks whose result object is verified (written for this chunk's bytes and this
run's pinned model, with every article accounted for) are kept; each task's job runs an array
over a *chunk plan* (``runs/<id>/attempts/<N>/<task>.json``) holding only the others. A task with
nothing missing gets no job at all; the index and verify steps run again over everything.

The ledger keeps a summary of every attempt (``detail["attempts"]``) and moves the run back to
RUNNING with one conditional write, so two retries of one run never both start.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from chalicelib.contract import keys
from chalicelib.contract.schema import RunManifest, TaskSpec
from chalicelib.ledger.base import RunRecord
from chalicelib.resultaudit import check_chunk
from chalicelib.runtime import Runtime
from chalicelib.schema import RunReport

log = logging.getLogger("newsops.retry")

RETRYABLE_EXECUTION_END = frozenset({"FAILED", "TIMED_OUT", "ABORTED", "SUCCEEDED"})


class RetryRefused(Exception):
    """The run cannot be retried now; the message says why and what to do instead."""


@dataclass
class RetryOutcome:
    run_id: str
    attempt: int
    execution: str
    rerun: dict[str, list[int]] = field(default_factory=dict)  # task -> chunks run again
    kept: dict[str, int] = field(default_factory=dict)  # task -> chunks kept from earlier attempts
    status: str | None = None  # the new execution's status (local: final; AWS: RUNNING)

    def describe(self) -> str:
        again = sum(len(v) for v in self.rerun.values())
        kept = sum(self.kept.values())
        per_task = ", ".join(f"{t}: {len(c)}" for t, c in self.rerun.items()) or "none"
        return (f"run {self.run_id} attempt {self.attempt} (execution {self.execution}): "
                f"{again} chunk jobs run again ({per_task}), {kept} kept")


def pinned_model_version(manifest: RunManifest, spec: TaskSpec) -> str:
    """The model version a task's results of this run must carry (what the job writes)."""
    return str((manifest.models.get(spec.name) or {}).get("version") or spec.model_version)


def chunk_is_done(rt: Runtime, manifest: RunManifest, spec: TaskSpec, index: int) -> bool:
    """A result object that accounts for every article of this chunk, from these bytes and
    this run's pinned model: the same test the job uses to skip a chunk, plus the counts."""
    chunk = manifest.chunks[index]
    result = check_chunk(rt.store, manifest.run_id, spec, chunk)
    meta = result.meta
    return (meta is not None and result.problem is None
            and meta.input_sha256 == chunk.sha256
            and meta.model_version == pinned_model_version(manifest, spec)
            and meta.model_sha256 == (manifest.models.get(spec.name) or {}).get("sha256", ""))


def missing_chunks(rt: Runtime, manifest: RunManifest) -> dict[str, list[int]]:
    """task -> indices of the chunks without a verified result (every task listed)."""
    return {spec.name: [c.index for c in manifest.chunks if not chunk_is_done(rt, manifest, spec, c.index)]
            for spec in manifest.tasks}


def retry_run(run_id: str, rt: Runtime) -> RetryOutcome:
    """Start the next attempt of ``run_id``; raises RetryRefused when it cannot start now.

    Locally the new execution runs to its end before this returns; on AWS it has started.
    """
    run = rt.ledger.get_run(run_id)
    if run is None:
        raise RetryRefused(f"no run {run_id} (see `newsops status`)")
    _check_retryable(run, rt)
    try:
        manifest = RunManifest.model_validate_json(rt.store.get(keys.manifest(run_id)))
    except KeyError:
        raise RetryRefused(
            f"run {run_id} was never split into chunks (its ingest failed): "
            f"start it again with `newsops run {run.input_key}`") from None

    # Workers an earlier attempt left behind (its orchestrator died) must not write beside ours.
    from chalicelib.steps.cleanup import stop_run_jobs

    stopped = stop_run_jobs(run_id, rt, f"run {run_id} is being retried")
    if stopped:
        log.warning("run %s: stopped %d leftover jobs of the earlier attempt", run_id, len(stopped))

    missing = missing_chunks(rt, manifest)
    attempt = int(run.detail.get("attempt", 1)) + 1
    execution = keys.retry_execution(run_id, attempt)
    if not rt.ledger.reopen_run(run_id, attempt=attempt, execution=execution,
                                previous=_attempt_summary(run, rt)):
        raise RetryRefused(f"run {run_id}: another retry started attempt {attempt} first")

    plans: dict[str, tuple[str, int]] = {}
    for task, chunks in missing.items():
        if chunks:
            key = keys.chunk_plan(run_id, attempt, task)
            rt.store.put(key, json.dumps({"run_id": run_id, "attempt": attempt, "task": task,
                                          "chunks": chunks}).encode())
            plans[task] = (key, len(chunks))
    rerun = {t: c for t, c in missing.items() if c}
    kept = {t: len(manifest.chunks) - len(c) for t, c in missing.items()}
    rt.ledger.update_run(run_id, detail={
        "attempt_started": rt.clock.now(),
        "attempt_plan": {"rerun": {t: len(c) for t, c in rerun.items()}, "kept": kept}})
    log.info("run %s: attempt %d as execution %s; rerun %s, kept %s", run_id, attempt, execution,
             {t: len(c) for t, c in rerun.items()}, kept)

    from chalicelib.steps.ingest import execution_input

    payload = execution_input(rt, run_id, len(manifest.chunks), specs=manifest.tasks, plans=plans)
    try:
        started = rt.workflow.start(execution, payload.model_dump())
    except Exception as exc:
        rt.ledger.update_run(run_id, state="FAILED", verdict="failed", ended=rt.clock.now(),
                             detail={"attempt_error": f"{type(exc).__name__}: {exc}"[:500]})
        raise
    return RetryOutcome(run_id=run_id, attempt=attempt, execution=execution, rerun=rerun,
                        kept=kept, status=started.status)


def _check_retryable(run: RunRecord, rt: Runtime) -> None:
    rid = run.run_id
    if run.state == "SUCCEEDED":
        raise RetryRefused(f"run {rid} succeeded: nothing to retry (to run a new model over its "
                           f"input, use `newsops replay`)")
    if run.verdict == "rejected":
        raise RetryRefused(f"run {rid}: its input was rejected at ingest "
                           f"({run.detail.get('rejected', 'not gzip JSON lines')}); fix the file and "
                           f"put it again")
    if run.state == "CLAIMED":
        raise RetryRefused(f"run {rid} is still being split by ingest, or its ingest died: "
                           f"`newsops run {run.input_key}` takes it over once its lease "
                           f"({rt.settings.ingest_lease_s}s) is over")
    execution = rt.workflow.describe(run.execution)
    if execution is not None and execution.status not in RETRYABLE_EXECUTION_END:
        raise RetryRefused(f"run {rid} is still running (execution {run.execution} is "
                           f"{execution.status}); retry it once it has ended")


def _attempt_summary(run: RunRecord, rt: Runtime) -> dict[str, Any]:
    """What the ledger keeps of an attempt that ended: enough to tell the attempts apart."""
    execution = rt.workflow.describe(run.execution)
    summary: dict[str, Any] = {
        "attempt": int(run.detail.get("attempt", 1)), "execution": run.execution,
        "state": run.state, "verdict": run.verdict,
        "started": run.detail.get("attempt_started", run.created), "ended": run.ended,
        "execution_status": execution.status if execution else None,
        "error": (execution.error if execution else None) or run.detail.get("attempt_error"),
    }
    if run.detail.get("attempt_plan"):
        summary["rerun"] = run.detail["attempt_plan"].get("rerun") or {}
    try:
        report = RunReport.model_validate_json(rt.store.get(keys.report(run.run_id)))
    except (KeyError, ValueError):
        report = None
    if report is not None and report.verdict != "ok":
        summary["problems"] = report.problems[:5]
        summary["chunks_done"] = {t: c.chunks_done for t, c in report.tasks.items()}
    if run.state != "FAILED":
        # RUNNING with its execution over: the orchestrator died before recording an end.
        summary["note"] = f"the attempt ended without a verdict (run was {run.state})"
    return summary
