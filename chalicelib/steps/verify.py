"""Verify a run: every chunk x task result exists, counts add up, the index holds the run.

Writes ``runs/<run id>/report.json`` and records the verdict in the ledger. A person no
longer checks the bucket and the index by hand every morning (lesson 5 of docs/design.md §5).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from chalicelib.compute.base import AttemptUsage
from chalicelib.contract import keys
from chalicelib.contract.schema import RunManifest
from chalicelib.cost import PriceTableError, RunCost, load_prices, run_cost, task_usage
from chalicelib.resultaudit import audit_results
from chalicelib.runtime import Runtime
from chalicelib.schema import RunReport, TaskCounts
from chalicelib.steps.index import index_summary

log = logging.getLogger("newsops.verify")


def build_report(run_id: str, rt: Runtime, *, error: dict[str, str] | None = None,
                 extra_problems: list[str] | None = None) -> RunReport:
    manifest = RunManifest.model_validate_json(rt.store.get(keys.manifest(run_id)))
    run = rt.ledger.get_run(run_id)
    detail = run.detail if run else {}
    problems: list[str] = list(extra_problems or [])
    causes: list[str] = []  # chunks whose job recorded why it failed: what a person reads first
    tasks: dict[str, TaskCounts] = {}
    for name, audit in audit_results(rt.store, manifest).items():
        tasks[name] = TaskCounts(chunks=audit.chunks, chunks_done=audit.done, records=audit.records,
                                 quarantined=audit.quarantined, seconds=audit.seconds)
        for missing in audit.missing:
            cause = _chunk_error(rt, run_id, name, missing.chunk)
            (causes if cause else problems).append(f"missing result {missing.key}{cause}")
        problems += audit.problems

    problems[len(extra_problems or []):len(extra_problems or [])] = causes
    articles = manifest.articles
    if articles["input"] != articles["valid"] + articles["quarantined"]:
        problems.append(f"ingest counts do not add up: {articles}")
    # The index step's slices, added up (chalicelib/steps/index.py); "index" as written before.
    summary = index_summary(detail)
    index = summary or detail.get("index") or {}
    if summary is not None:
        detail = {**detail, **{k: summary[k] for k in ("t_index_start", "t_index_end")}}
        if summary["chunks"] != len(manifest.chunks):
            problems.append(f"the index step covered {summary['chunks']} of {len(manifest.chunks)} chunks")
    indexed = rt.search.count(run_id=run_id)
    index_failed = int(index.get("failed", 0))
    if index and indexed + index_failed != articles["valid"]:
        problems.append(f"index holds {indexed} documents of this run, {index_failed} failed, "
                        f"but {articles['valid']} articles are valid")
    if index_failed:
        problems.append(f"{index_failed} documents failed to index (see the ledger's index failures)")
    if error:
        problems.insert(0, f"{error.get('Error', 'error')}: {error.get('Cause', '')}"[:2000])

    timings = _timings(detail)
    cost, cost_error = _cost(run_id, rt, manifest, tasks, timings, failed=error is not None,
                             index=summary)
    verdict = "ok" if not problems and not error else "failed"
    return RunReport(run_id=run_id, verdict=verdict, input=manifest.input.uri, articles=articles,
                     tasks=tasks, indexed=indexed, index_failed=index_failed, problems=problems,
                     error=error, timings=timings, finished=rt.clock.utcnow(),
                     lineage={"input": manifest.input.model_dump(), "code_version": manifest.code_version,
                              "image": manifest.image, "models": manifest.models},
                     cost=cost, cost_error=cost_error)


def _cost(run_id: str, rt: Runtime, manifest: RunManifest, tasks: dict[str, TaskCounts],
          timings: dict[str, float], *, failed: bool,
          index: dict[str, Any] | None = None) -> tuple[RunCost | None, str | None]:
    """Sets each task's usage and returns the run's cost, or why there is none. What a run cost
    never decides its verdict: a bad price table or an unreachable Batch is reported, not failed."""
    try:
        prices = load_prices(rt.settings.prices_file)
    except PriceTableError as exc:
        log.error("run %s: no cost: %s", run_id, exc)
        return None, str(exc)
    try:
        attempts = rt.compute.usage(run_id)
    except Exception as exc:  # noqa: BLE001 - Batch throttled or denied: the report still goes out
        log.warning("run %s: job usage unavailable: %s", run_id, exc)
        return None, f"job usage unavailable: {type(exc).__name__}: {exc}"
    if attempts is None:
        return None, f"the {rt.settings.backend} compute backend does not report job usage"
    valid = int(manifest.articles.get("valid", 0))
    by_job: dict[str, list[AttemptUsage]] = {}
    for a in attempts:
        by_job.setdefault(a.job_name, []).append(a)
    try:
        for spec in manifest.tasks:
            if spec.name in tasks:
                tasks[spec.name].usage = task_usage(
                    spec.name, by_job.get(f"{run_id}-{spec.name}"[:128], []), vcpus=spec.vcpus,
                    gpus=spec.gpu, prices=prices, articles=valid)
    except PriceTableError as exc:
        return None, str(exc)
    usages = {name: t.usage for name, t in tasks.items() if t.usage is not None}
    return run_cost(usages, prices=prices, articles=valid, chunks=len(manifest.chunks), timings=timings,
                    failed=failed, index_slices=int((index or {}).get("slices", 1)),
                    index_seconds=(index or {}).get("seconds")), None


def _chunk_error(rt: Runtime, run_id: str, task: str, n: int) -> str:
    """The cause the job recorded for a chunk it could not finish (keys.task_error), if any."""
    try:
        doc = json.loads(rt.store.get(keys.task_error(run_id, task, n)))
    except (KeyError, ValueError):
        return ""
    kind = "failed permanently" if doc.get("permanent") else "failed"
    return f": attempt {doc.get('attempt', '?')} {kind}: {doc.get('error', '')}"


def _timings(detail: dict[str, Any]) -> dict[str, float]:
    t: dict[str, float] = {}
    pairs = {"ingest": ("t_ingest_start", "t_ingest_end"), "tasks": ("t_ingest_end", "t_index_start"),
             "index": ("t_index_start", "t_index_end"), "verify": ("t_index_end", "t_verify_end")}
    for name, (a, b) in pairs.items():
        if a in detail and b in detail:
            t[name] = round(detail[b] - detail[a], 3)
    return t


def verify_run(run_id: str, rt: Runtime, *, extra_problems: list[str] | None = None) -> dict[str, Any]:
    run = rt.ledger.get_run(run_id)
    summary = index_summary(run.detail) if run else None
    fields: dict[str, Any] = {"t_verify_end": rt.clock.now()}
    if summary:
        # The run's index outcome in one entry, as the verifier and the run audit read it.
        fields["t_index_start"], fields["t_index_end"] = summary.pop("t_index_start"), summary.pop("t_index_end")
        fields["index"] = summary
    rt.ledger.update_run(run_id, detail=fields)
    report = build_report(run_id, rt, extra_problems=extra_problems)
    publish_report(report, rt)
    log.info("run %s verdict %s (%d problems)", run_id, report.verdict, len(report.problems))
    return {"run_id": run_id, "verdict": report.verdict, "report": rt.store.uri(keys.report(run_id)),
            "problems": report.problems[:50]}


def publish_report(report: RunReport, rt: Runtime) -> None:
    rt.store.put(keys.report(report.run_id), report.model_dump_json(indent=2).encode())
    state = "SUCCEEDED" if report.verdict == "ok" else "FAILED"
    fields: dict[str, Any] = {"state": state, "verdict": report.verdict, "ended": rt.clock.now()}
    if report.cost is not None:
        # The run list and the dashboard read the ledger, not every report.
        c = report.cost
        fields["detail"] = {"cost": {"total": c.total, "per_1k_articles": c.per_1k_articles,
                                     "currency": c.currency, "prices_as_of": c.prices_as_of.isoformat()}}
    rt.ledger.update_run(report.run_id, **fields)
