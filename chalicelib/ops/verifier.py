"""The scheduled verifier: what a person used to check by hand every morning (docs/design.md §5, lesson 5).

Each pass looks at

- every run finished within the look-back (and every run with an open finding): its
  chunk x task results still exist, the record counts add up with quarantine, the index
  still holds its documents;
- runs RUNNING (or claimed) longer than the run limit;
- failed runs nobody was told about (the pipeline alerts its own failures; a run whose
  execution died another way, or that failed without an execution, is alerted here);
- per source, a new article within the freshness window.

Findings go through :mod:`chalicelib.ops.findings`: one alert per problem, a reminder after
the cool-down, one "resolved" notice. The verdict is stored for the status API.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from chalicelib.contract import keys
from chalicelib.ledger.base import RunRecord
from chalicelib.ops.findings import Finding, FindingStore, ReconcileOutcome, StoredFinding
from chalicelib.ops.freshness import CrawlSummary, SourceFreshness, last_crawl, source_freshness
from chalicelib.ops.run_audit import audit_run
from chalicelib.runtime import Runtime
from chalicelib.settings import OpsSettings
from chalicelib.workflow.base import ORCHESTRATOR_DIED

log = logging.getLogger("newsops.ops.verifier")

CHECK_RESULTS = "run-results"
CHECK_STUCK = "run-stuck"
CHECK_FAILED = "run-failed"
CHECK_STALE = "source-stale"
CHECK_CRAWL = "crawl-stopped"
RUN_CHECKS = frozenset({CHECK_RESULTS, CHECK_STUCK, CHECK_FAILED})
STATE_NAMESPACE = "ops-state"
STATE_KEY = "verifier"
# The pipeline's own failure path ends in this error after its SNS alert went out.
PIPELINE_ALERTED_ERROR = "newsops.RunFailed"


@dataclass
class Verdict:
    verdict: Literal["ok", "problems"]
    time: float
    runs_checked: int = 0
    sources_checked: int = 0
    open_findings: list[dict[str, Any]] = field(default_factory=list)
    alerts_sent: int = 0
    resolved: int = 0
    notes: list[str] = field(default_factory=list)

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)


def _run_look_at(rt: Runtime, rid: str) -> list[str]:
    return [rt.store.uri(keys.report(rid)), f"newsops status {rid}", f"GET /runs/{rid}"]


def _results_finding(run: RunRecord, rt: Runtime, later_indexed: int) -> Finding | None:
    audit = audit_run(run, rt, later_indexed=later_indexed)
    problems = audit.problems
    if not problems:
        return None
    first = problems[0]
    what = ("result missing" if audit.missing else
            "manifest missing" if audit.manifest_missing else
            "index lost documents" if audit.index_shortfall and not audit.miscounted else
            "counts do not add up")
    return Finding(
        id=f"{CHECK_RESULTS}:{run.run_id}", check=CHECK_RESULTS,
        subject=f"{what}: run {run.run_id}", run_id=run.run_id, stage="verify",
        reason=first if len(problems) == 1 else f"{first} (and {len(problems) - 1} more problems)",
        counts={"results_expected": audit.results_expected, "missing": len(audit.missing),
                "miscounted": len(audit.miscounted), "index_shortfall": audit.index_shortfall},
        look_at=_run_look_at(rt, run.run_id), details={"problems": problems[:50]})


def _stuck_finding(run: RunRecord, rt: Runtime, now: float) -> Finding | None:
    # updated is 0 once ingest released the claim after an error: then the claim's own age counts.
    age = now - (run.updated or run.created)
    if run.state == "CLAIMED" and age > rt.settings.ingest_lease_s:
        # Its ingest died or failed before starting it, and no retry has started it since.
        error = run.detail.get("ingest_failed_attempt")
        return Finding(
            id=f"{CHECK_STUCK}:{run.run_id}", check=CHECK_STUCK,
            subject=f"run claimed but never started: {run.run_id}", run_id=run.run_id,
            stage="ingest", reason=(f"run {run.run_id} was claimed {age:.0f}s ago and its ingest "
                                    f"never started it (ingest lease {rt.settings.ingest_lease_s}s)"
                                    + (f"; ingest failed with {error}" if error else "")),
            counts={"age_s": int(age), "limit_s": rt.settings.ingest_lease_s},
            look_at=[f"newsops run {run.input_key}  (takes the claim over and starts the run)",
                     "the ingest function's logs (timeout or out of memory)"])
    limit = rt.settings.run_timeout_s
    age = now - run.created
    if age <= limit:
        return None
    return Finding(
        id=f"{CHECK_STUCK}:{run.run_id}", check=CHECK_STUCK,
        subject=f"run {run.state} for {age / 3600:.1f}h: {run.run_id}", run_id=run.run_id,
        stage="workflow", reason=f"run {run.run_id} has been {run.state} for {age:.0f}s, "
                                 f"over the run limit of {limit}s",
        counts={"age_s": int(age), "limit_s": limit},
        look_at=[f"execution {run.execution}", *_run_look_at(rt, run.run_id)])


def _failed_finding(run: RunRecord, rt: Runtime) -> Finding | None:
    if run.verdict == "rejected":
        already, how = True, "the input was rejected at ingest (alerted by ingest)"
        execution = None
    elif run.detail.get("failed_at") == "ingest":
        already, how = bool(run.detail.get("alerted")), str(run.detail.get("failure") or "ingest failed")
        execution = None
    else:
        execution = rt.workflow.describe(run.execution)
        if execution is not None and execution.status == "RUNNING":
            return None  # its failure path is running now and will alert
        already = execution is not None and execution.error == PIPELINE_ALERTED_ERROR
        how = ("the pipeline's failure path alerted" if already else
               "no execution was started" if execution is None else
               f"its execution ended {execution.status} ({execution.error or 'no error'}) "
               "without the failure alert")
    return Finding(
        id=f"{CHECK_FAILED}:{run.run_id}", check=CHECK_FAILED, subject=f"run FAILED: {run.run_id}",
        reason=f"run {run.run_id} failed{_attempt_note(run)}: {how}", run_id=run.run_id,
        stage="workflow",
        counts={k: int(v) for k, v in (run.detail.get("articles") or {}).items()
                if isinstance(v, int | float)},
        look_at=[*_run_look_at(rt, run.run_id), *([] if run.verdict == "rejected" else
                                                  [f"newsops run --retry {run.run_id}"])],
        repeat=False, notify_resolved=False, already_alerted=already,
        details={"execution_error": getattr(execution, "error", None), "attempt": run.attempt})


def _attempt_note(run: RunRecord) -> str:
    return f" on attempt {run.attempt}" if run.attempt > 1 else ""


def _run_findings(run: RunRecord, rt: Runtime, now: float, later_indexed: int) -> list[Finding]:
    if run.state == "SUCCEEDED":
        f = _results_finding(run, rt, later_indexed)
    elif run.state == "FAILED":
        f = _failed_finding(run, rt)
    else:
        f = _stuck_finding(run, rt, now)
        if f is None:
            execution = rt.workflow.describe(run.execution)
            if execution is not None and execution.status != "RUNNING":
                # The execution is over but the ledger never heard: nobody recorded or alerted it.
                died = execution.error == ORCHESTRATOR_DIED
                f = Finding(
                    id=f"{CHECK_FAILED}:{run.run_id}", check=CHECK_FAILED,
                    subject=(f"orchestrator died: {run.run_id}" if died else
                             f"run died without a verdict: {run.run_id}"), run_id=run.run_id,
                    stage="workflow",
                    reason=(f"{execution.cause}; the run is {run.state}{_attempt_note(run)}" if died else
                            f"execution ended {execution.status} ({execution.error or 'no error'}) "
                            f"but the run is {run.state}"),
                    look_at=[*_run_look_at(rt, run.run_id), f"newsops run --retry {run.run_id}"],
                    repeat=False, notify_resolved=False)
    return [f] if f else []


def _stale_finding(s: SourceFreshness, window_s: int, now: float) -> Finding:
    since = "never brought a new article" if s.last_new is None else \
        f"no new article for {(now - s.last_new) / 3600:.1f}h"
    return Finding(
        id=f"{CHECK_STALE}:{s.source}", check=CHECK_STALE, severity="warning",
        subject=f"source stale: {s.source}", stage="crawl",
        reason=f"{s.source}: {since} (window {window_s / 3600:.1f}h)",
        counts={"window_s": window_s, **({"age_s": int(s.age_s)} if s.age_s is not None else {})},
        look_at=["the latest crawl report (GET /status: last_crawl)",
                 f"the feed of {s.source} in chalicelib/config/sources.json"],
        details={"source": s.source, "last_new": s.last_new})


def _crawl_stopped_finding(crawl: CrawlSummary, window_s: int, now: float) -> Finding | None:
    when = crawl.finished or crawl.started
    if when is None or now - when <= window_s:
        return None
    return Finding(
        id=f"{CHECK_CRAWL}:crawler", check=CHECK_CRAWL,
        subject=f"crawler stopped: no crawl for {(now - when) / 3600:.1f}h", stage="crawl",
        reason=f"the last crawl ({crawl.crawl_id}) ended {(now - when) / 3600:.1f}h ago, "
               f"over the freshness window of {window_s / 3600:.1f}h: no source can be fresh",
        counts={"age_s": int(now - when), "window_s": window_s},
        look_at=["the crawl schedule (EventBridge rule) and the crawl function's logs",
                 "GET /status: last_crawl"],
        details={"crawl_id": crawl.crawl_id})


def _runs_to_check(rt: Runtime, ops: OpsSettings, now: float, open_runs: set[str]) -> list[RunRecord]:
    runs: list[RunRecord] = []
    before: float | None = None
    horizon = now - ops.verify_lookback_s
    while len(runs) < ops.verify_max_runs:
        page = rt.ledger.list_runs(limit=min(100, ops.verify_max_runs - len(runs)), before=before)
        runs += [r for r in page if r.created >= horizon or r.state not in ("SUCCEEDED", "FAILED")]
        if len(page) == 0 or page[-1].created < horizon:
            break
        before = page[-1].created
    seen = {r.run_id for r in runs}
    for rid in sorted(open_runs - seen):
        run = rt.ledger.get_run(rid)
        if run is not None:
            runs.append(run)
    return runs


def run_verifier(rt: Runtime, *, now: float | None = None, ops: OpsSettings | None = None) -> Verdict:
    """One scheduled pass over runs and sources; returns (and stores) the verdict."""
    now = rt.clock.now() if now is None else now
    ops = ops or rt.settings.ops
    store = FindingStore(rt.ledger, rt.alerts, cooldown_s=ops.alert_cooldown_s, clock=rt.clock)
    # Failed-run findings close when their run leaves the look-back; the others are re-checked.
    open_runs = {f.run_id for f in store.open() if f.run_id and f.check in (CHECK_RESULTS, CHECK_STUCK)}
    runs = _runs_to_check(rt, ops, now, open_runs)
    found: list[Finding] = []
    # Newest first: what later runs indexed may explain documents missing from earlier ones.
    later_indexed = 0
    for run in sorted(runs, key=lambda r: r.created, reverse=True):
        try:
            found += _run_findings(run, rt, now, later_indexed)
        except Exception as exc:  # noqa: BLE001 - one unreadable run must not hide the others
            log.exception("could not check run %s", run.run_id, extra={"run_id": run.run_id})
            found.append(Finding(
                id=f"{CHECK_RESULTS}:{run.run_id}", check=CHECK_RESULTS,
                subject=f"run cannot be checked: {run.run_id}", run_id=run.run_id, stage="verify",
                reason=f"{type(exc).__name__}: {exc}"[:500], look_at=_run_look_at(rt, run.run_id)))
        later_indexed += int((run.detail.get("index") or {}).get("indexed", 0) or 0)
    sources = source_freshness(rt.ledger, now=now, window_s=ops.freshness_window_s)
    crawl = last_crawl(rt.ledger)
    stopped = _crawl_stopped_finding(crawl, ops.freshness_window_s, now) if crawl else None
    if stopped:
        found.append(stopped)  # one alert for the crawler, not one per source it would starve
    else:
        found += [_stale_finding(s, ops.freshness_window_s, now) for s in sources if s.stale]
    # While the crawler is stopped, per-source findings are neither re-checked nor "resolved".
    outcome = store.reconcile(found, checks=RUN_CHECKS | {CHECK_STALE, CHECK_CRAWL}, now=now,
                              covers=lambda f: not (stopped and f.check == CHECK_STALE))
    verdict = _verdict(store, outcome, now, runs=len(runs), sources=len(sources))
    if not sources:
        verdict.notes.append("no crawl recorded yet: source freshness not checked")
    rt.ledger.put_state(STATE_NAMESPACE, STATE_KEY, verdict.to_doc())
    _emit(rt, verdict)
    log.info("verifier: %s (%d runs, %d sources, %d open findings, %d alerts sent)", verdict.verdict,
             verdict.runs_checked, verdict.sources_checked, len(verdict.open_findings),
             verdict.alerts_sent)
    return verdict


def verify_after_run(run_id: str, rt: Runtime, *, now: float | None = None,
                     ops: OpsSettings | None = None) -> ReconcileOutcome:
    """The verifier for one run, at the end of that run: records or resolves its findings only."""
    now = rt.clock.now() if now is None else now
    ops = ops or rt.settings.ops
    store = FindingStore(rt.ledger, rt.alerts, cooldown_s=ops.alert_cooldown_s, clock=rt.clock)
    run = rt.ledger.get_run(run_id)
    found = _run_findings(run, rt, now, 0) if run else []
    # A failed run that now succeeded was retried: its failure alert gets its "resolved" notice.
    succeeded = run is not None and run.state == "SUCCEEDED"
    fid = f"{CHECK_FAILED}:{run_id}"
    if succeeded and run is not None and run.attempt > 1 and store.get(fid) is None:
        # The pipeline alerted the failure itself, before any verifier pass stored it: record
        # that alert as the open finding the success below resolves.
        store.reconcile([Finding(
            id=fid, check=CHECK_FAILED, subject=f"run FAILED: {run_id}", run_id=run_id,
            stage="workflow", reason=f"attempt {run.attempt - 1} of run {run_id} failed",
            look_at=_run_look_at(rt, run_id), repeat=False, notify_resolved=False,
            already_alerted=True)], checks=(), now=now)
    return store.reconcile(found, checks=RUN_CHECKS, covers=lambda f: f.run_id == run_id, now=now,
                           announce=lambda f: succeeded and f.check == CHECK_FAILED)


def latest_verdict(rt: Runtime) -> dict[str, Any] | None:
    return rt.ledger.get_state(STATE_NAMESPACE, STATE_KEY)


def _verdict(store: FindingStore, outcome: ReconcileOutcome, now: float, *, runs: int,
             sources: int) -> Verdict:
    open_findings = sorted(store.open(), key=lambda f: f.first_seen)
    # A failed run keeps the verdict at "problems" until it leaves the look-back, even when the
    # pipeline alerted it: the verdict says whether all is well, not whether someone was told.
    return Verdict(verdict="problems" if open_findings else "ok", time=now, runs_checked=runs,
                   sources_checked=sources, open_findings=[_public(f) for f in open_findings],
                   alerts_sent=outcome.alerts_sent, resolved=len(outcome.resolved))


def _public(f: StoredFinding) -> dict[str, Any]:
    return {"id": f.id, "check": f.check, "severity": f.severity, "subject": f.subject,
            "reason": f.reason, "run_id": f.run_id, "first_seen": f.first_seen,
            "last_seen": f.last_seen, "alerts": f.alerts}


def _emit(rt: Runtime, verdict: Verdict) -> None:
    from chalicelib.observability import emit_metrics

    emit_metrics(rt.settings, {"Alerts": ("Count", verdict.alerts_sent),
                               "OpenFindings": ("Count", len(verdict.open_findings))},
                 dimensions={"check": "verifier"})


def format_verdict(verdict: Verdict) -> str:
    """What ``make demo`` and ``newsops verify`` print last."""
    lines = [f"verifier: {verdict.verdict.upper()}  ({verdict.runs_checked} runs, "
             f"{verdict.sources_checked} sources checked; {len(verdict.open_findings)} open findings, "
             f"{verdict.alerts_sent} alerts sent)"]
    lines += [f"  open: [{f['check']}] {f['subject']}: {f['reason']}" for f in verdict.open_findings[:20]]
    lines += [f"  note: {n}" for n in verdict.notes]
    return "\n".join(lines)
