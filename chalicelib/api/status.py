"""The status API's answers, as plain functions of the runtime (the routes only validate and call)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from chalicelib.api.models import (
    AttemptInfo,
    ChunkState,
    CrawlInfo,
    ExecutionInfo,
    Health,
    JobInfo,
    OpenFinding,
    ReaperInfo,
    ReportInfo,
    RunDetail,
    RunsPage,
    RunSummary,
    SourceInfo,
    Status,
    TaskState,
    VerifierInfo,
)
from chalicelib.api.params import NotFound
from chalicelib.compute.base import JobStatus
from chalicelib.contract import keys
from chalicelib.contract.schema import RunManifest
from chalicelib.ledger.base import RunRecord
from chalicelib.ops.findings import FindingStore, StoredFinding
from chalicelib.ops.freshness import last_crawl, source_freshness
from chalicelib.ops.jobs import job_control_for
from chalicelib.ops.reaper import STATE_KEY as REAPER_KEY
from chalicelib.ops.verifier import STATE_KEY as VERIFIER_KEY
from chalicelib.ops.verifier import STATE_NAMESPACE
from chalicelib.runtime import Runtime
from chalicelib.schema import RunReport

ALL_JOB_STATES = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED")


def health(rt: Runtime) -> tuple[Health, int]:
    checks: dict[str, str] = {}
    try:
        rt.ledger.list_runs(limit=1)
        checks["ledger"] = "ok"
    except Exception as exc:  # noqa: BLE001 - health reports, never raises
        checks["ledger"] = f"error: {type(exc).__name__}"
    ok = all(v == "ok" for v in checks.values())
    doc = Health(status="ok" if ok else "error", backend=rt.settings.backend, stage=rt.settings.stage,
                 time=rt.clock.now(), checks=checks)
    return doc, 200 if ok else 503


def run_summary(run: RunRecord) -> RunSummary:
    articles = run.detail.get("articles") or {}
    return RunSummary(
        run_id=run.run_id, state=run.state, verdict=run.verdict, input_key=run.input_key,
        created=run.created, ended=run.ended,
        duration_s=round(run.ended - run.created, 3) if run.ended else None,
        articles={k: int(v) for k, v in articles.items() if isinstance(v, int | float)},
        chunks=run.detail.get("chunks"), tasks=[str(t) for t in run.detail.get("tasks") or []],
        attempt=run.attempt, replay={k: str(v) for k, v in (run.detail.get("replay") or {}).items()} or None)


def run_attempts(run: RunRecord) -> list[AttemptInfo]:
    """The attempts the ledger kept (chalicelib/retry.py), then the current one."""
    out: list[AttemptInfo] = []
    for a in run.detail.get("attempts") or []:
        out.append(AttemptInfo(
            attempt=int(a.get("attempt", len(out) + 1)), execution=str(a.get("execution") or run.run_id),
            state=str(a.get("state") or "FAILED"), verdict=a.get("verdict"), started=a.get("started"),
            ended=a.get("ended"), execution_status=a.get("execution_status"), error=a.get("error"),
            problems=[str(p) for p in a.get("problems") or []], note=a.get("note"),
            rerun=a.get("rerun") or {}))
    plan = run.detail.get("attempt_plan") or {}
    out.append(AttemptInfo(
        attempt=run.attempt, execution=run.execution, state=run.state, verdict=run.verdict,
        started=run.detail.get("attempt_started", run.created), ended=run.ended,
        rerun={str(k): int(v) for k, v in (plan.get("rerun") or {}).items()}))
    return out


def list_runs(rt: Runtime, *, state: str | None, limit: int, before: float | None) -> RunsPage:
    # One more than asked tells whether an older page exists.
    runs = rt.ledger.list_runs(state=state, limit=limit + 1, before=before)
    page = runs[:limit]
    return RunsPage(runs=[run_summary(r) for r in page], limit=limit, state=state,
                    next_before=page[-1].created if len(runs) > limit else None)


def open_findings(rt: Runtime, run_id: str | None = None) -> list[OpenFinding]:
    store = FindingStore(rt.ledger, rt.alerts, cooldown_s=0, clock=rt.clock)
    found = [f for f in store.open() if run_id is None or f.run_id == run_id]
    return [_finding(f) for f in sorted(found, key=lambda f: f.first_seen, reverse=True)]


def _finding(f: StoredFinding) -> OpenFinding:
    return OpenFinding(id=f.id, check=f.check, severity=f.severity, subject=f.subject, reason=f.reason,
                       run_id=f.run_id, first_seen=f.first_seen, last_seen=f.last_seen,
                       last_alerted=f.last_alerted, alerts=f.alerts)


def verifier_info(rt: Runtime) -> VerifierInfo | None:
    doc = rt.ledger.get_state(STATE_NAMESPACE, VERIFIER_KEY)
    if not doc:
        return None
    return VerifierInfo(verdict=doc["verdict"], time=doc["time"], runs_checked=doc.get("runs_checked", 0),
                        sources_checked=doc.get("sources_checked", 0),
                        open_findings=len(doc.get("open_findings") or []),
                        alerts_sent=doc.get("alerts_sent", 0), notes=list(doc.get("notes") or []))


def status(rt: Runtime, *, now: float | None = None) -> Status:
    now = rt.clock.now() if now is None else now
    recent = rt.ledger.list_runs(limit=200)
    crawl = last_crawl(rt.ledger)
    reaper = rt.ledger.get_state(STATE_NAMESPACE, REAPER_KEY)
    window = rt.settings.ops.freshness_window_s
    return Status(
        time=now, backend=rt.settings.backend, stage=rt.settings.stage,
        last_crawl=CrawlInfo(**vars(crawl)) if crawl else None,
        sources=[SourceInfo(source=s.source, last_new=s.last_new, age_s=s.age_s, stale=s.stale)
                 for s in source_freshness(rt.ledger, now=now, window_s=window)],
        runs=[run_summary(r) for r in recent[:10]],
        runs_by_state=dict(Counter(r.state for r in recent)),
        verifier=verifier_info(rt),
        reaper=ReaperInfo(time=reaper["time"], active=reaper.get("active", 0),
                          terminated=len(reaper.get("terminated") or []),
                          runnable_too_long=len(reaper.get("runnable_too_long") or []))
        if reaper else None,
        open_alerts=open_findings(rt))


# -- one run ----------------------------------------------------------------------------------
def _job_info(job: JobStatus) -> JobInfo:
    return JobInfo(job_id=job.job_id, name=job.name, status=job.status, reason=job.reason,
                   array_size=job.array_size, children=dict(job.children),
                   attempts=len(job.attempts) if job.attempts else None, created=job.created,
                   started=job.started, stopped=job.stopped)


def _run_jobs(rt: Runtime, run_id: str) -> list[JobStatus]:
    jobs = job_control_for(rt).list_jobs(name_prefix=f"{run_id}-", states=ALL_JOB_STATES)
    out = []
    for job in jobs:
        try:
            # The compute that ran the job knows its attempts; other processes' jobs keep the summary.
            out.append(rt.compute.describe(job.job_id))
        except Exception:  # noqa: BLE001 - not this process's job, or the backend forgot it
            out.append(job)
    return out


def _attempts_by_chunk(jobs: list[JobStatus]) -> dict[int, int]:
    counts: Counter[int] = Counter()
    for job in jobs:
        for attempt in job.attempts:
            counts[int(attempt.get("index", 0))] += 1
    return dict(counts)


def run_detail(rt: Runtime, run_id: str, *, chunk_offset: int = 0, chunk_limit: int = 100) -> RunDetail:
    run = rt.ledger.get_run(run_id)
    if run is None:
        raise NotFound(f"no run {run_id}")
    try:
        manifest: RunManifest | None = RunManifest.model_validate_json(rt.store.get(keys.manifest(run_id)))
    except KeyError:
        manifest = None
    try:
        report: RunReport | None = RunReport.model_validate_json(rt.store.get(keys.report(run_id)))
    except KeyError:
        report = None
    jobs = _run_jobs(rt, run_id)
    tasks: dict[str, TaskState] = {}
    chunks = manifest.chunks if manifest else []
    page = chunks[chunk_offset:chunk_offset + chunk_limit]
    for spec in manifest.tasks if manifest else []:
        task_jobs = [j for j in jobs if j.name == f"{run_id}-{spec.name}"[:128]]
        attempts = _attempts_by_chunk(task_jobs)
        states = []
        for chunk in page:
            info = rt.store.head(keys.result(run_id, spec.name, chunk.index))
            md: dict[str, str] = info.metadata if info else {}
            state = "missing" if info is None else (
                "stale" if md.get("input_sha256") not in (None, chunk.sha256) else "done")
            states.append(ChunkState(
                index=chunk.index, articles=chunk.records, state=state,
                records=_int(md.get("records")), quarantined=_int(md.get("quarantined")),
                seconds=_float(md.get("seconds")), model_version=md.get("model_version"),
                attempts=attempts.get(chunk.index) if attempts else None))
        counts = report.tasks.get(spec.name) if report else None
        tasks[spec.name] = TaskState(
            model_version=spec.model_version, chunks_total=len(chunks),
            chunks_done=counts.chunks_done if counts else sum(s.state == "done" for s in states),
            records=counts.records if counts else sum(s.records or 0 for s in states),
            quarantined=counts.quarantined if counts else sum(s.quarantined or 0 for s in states),
            seconds=(counts.seconds or 0.0) if counts else round(sum(s.seconds or 0 for s in states), 3),
            jobs=[_job_info(j) for j in task_jobs], chunks=states,
            usage=counts.usage if counts else None)
    execution = rt.workflow.describe(run.execution)
    lineage: dict[str, Any] = dict(report.lineage) if report else {}
    if manifest and not lineage:
        lineage = {"input": manifest.input.model_dump(), "code_version": manifest.code_version,
                   "image": manifest.image, "models": manifest.models}
    return RunDetail(
        run=run_summary(run), chunk_offset=chunk_offset, chunk_limit=chunk_limit, chunks_total=len(chunks),
        tasks=tasks, timings=dict(report.timings) if report else {},
        execution=ExecutionInfo(status=execution.status, started=execution.started,
                                stopped=execution.stopped, error=execution.error,
                                states_entered=execution.states_entered) if execution else None,
        report=ReportInfo(verdict=report.verdict, problems=report.problems[:100], indexed=report.indexed,
                          index_failed=report.index_failed, finished=report.finished.isoformat())
        if report else None,
        lineage=lineage, findings=open_findings(rt, run_id), attempts=run_attempts(run),
        cost=report.cost if report else None, cost_error=report.cost_error if report else None)


def _int(v: str | None) -> int | None:
    try:
        return int(v) if v is not None else None
    except ValueError:
        return None


def _float(v: str | None) -> float | None:
    try:
        return float(v) if v is not None else None
    except ValueError:
        return None
