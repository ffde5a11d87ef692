"""The failure path: stop the run's outstanding jobs, record the failure, compose the alert."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from chalicelib.alerts.base import fit_subject
from chalicelib.alerts.sns import sns_subject
from chalicelib.contract import keys
from chalicelib.runtime import Runtime
from chalicelib.steps.verify import build_report, publish_report

log = logging.getLogger("newsops.cleanup")


def stop_run_jobs(run_id: str, rt: Runtime, reason: str) -> list[str]:
    """Terminate every non-terminal job named ``<run id>-…``; returns their ids."""
    stopped = []
    for job in rt.compute.list_jobs(name_prefix=f"{run_id}-"):
        rt.compute.terminate(job.job_id, reason)
        stopped.append(job.job_id)
    return stopped


def fail_run(run_id: str, error: dict[str, Any] | None, rt: Runtime) -> dict[str, str]:
    error = {"Error": str((error or {}).get("Error", "unknown")), "Cause": str((error or {}).get("Cause", ""))}
    stopped = stop_run_jobs(run_id, rt, f"run {run_id} failed: {error['Error']}")
    stage = _stage(error, run_id)
    try:
        report = build_report(run_id, rt, error=error)
        report.verdict = "failed"
        publish_report(report, rt)
        counts = {"articles": report.articles.get("valid", 0), "problems": len(report.problems),
                  "jobs_stopped": len(stopped)}
        problems = report.problems[:10]
    except KeyError:  # no manifest: failed before ingest finished
        rt.ledger.update_run(run_id, state="FAILED", verdict="failed")
        counts, problems = {"jobs_stopped": len(stopped)}, []
    message = {
        "run_id": run_id, "stage": stage, "reason": _reason(error), "counts": counts,
        "problems": problems,
        "look_at": [rt.store.uri(keys.report(run_id)), f"newsops status {run_id}"],
    }
    log.error("run %s failed at %s: %s; %d jobs stopped", run_id, stage, message["reason"], len(stopped))
    return {"subject": failure_subject(stage, run_id), "message": json.dumps(message)}


def failure_subject(stage: str, run_id: str) -> str:
    """The failure alert's subject. The state machine publishes it to SNS as it is, through no
    adapter, so it must pass SNS's rules here: one line of printable ASCII, at most 100
    characters (a 40-character task name and a 61-character replay run id do not fit whole:
    the stage is cut, the run id is kept)."""
    return sns_subject(fit_subject(f"newsops run FAILED at {stage}", f": {run_id}"))


def _stage(error: dict[str, str], run_id: str) -> str:
    if error["Error"] == "Verify.Failed":
        return "verify"
    m = re.search(r'"JobName":\s*"([^"]+)"', error["Cause"])
    if m and m.group(1).startswith(f"{run_id}-"):
        return f"task {m.group(1).removeprefix(f'{run_id}-')}"
    return "workflow"


def _reason(error: dict[str, str]) -> str:
    cause = error["Cause"]
    try:
        doc = json.loads(cause)
        if isinstance(doc, dict):
            cause = doc.get("StatusReason") or doc.get("errorMessage") or cause
        elif isinstance(doc, list):
            cause = "; ".join(map(str, doc[:5]))
    except ValueError:
        pass
    return f"{error['Error']}: {cause}"[:1000]
