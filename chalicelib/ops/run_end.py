"""What happens when a run reaches its verdict: its metrics, once, and its findings reconciled.

Called by the ``verify`` and the ``cleanup`` Lambdas right after their own work. A run whose
verify fails goes on to cleanup, so both see it: the metrics are emitted once per verdict.
"""

from __future__ import annotations

import logging
from typing import Any

from chalicelib.contract import keys
from chalicelib.observability import emit_metrics, run_metrics
from chalicelib.ops.verifier import verify_after_run
from chalicelib.runtime import Runtime
from chalicelib.schema import RunReport

log = logging.getLogger("newsops.ops.run_end")


def on_run_end(run_id: str, rt: Runtime) -> dict[str, Any]:
    outcome: dict[str, Any] = {"run_id": run_id, "metrics": False}
    try:
        report = RunReport.model_validate_json(rt.store.get(keys.report(run_id)))
    except KeyError:
        report = None
    run = rt.ledger.get_run(run_id)
    if report is not None and run is not None and run.detail.get("metrics_for") != report.verdict:
        emit_metrics(rt.settings, run_metrics(report), metadata={"run_id": run_id})
        for task, counts in report.tasks.items():
            emit_metrics(rt.settings, {"TaskSeconds": ("Seconds", counts.seconds or 0),
                                       "TaskRecords": ("Count", counts.records)},
                         dimensions={"task": task}, metadata={"run_id": run_id})
        rt.ledger.update_run(run_id, detail={"metrics_for": report.verdict})
        outcome["metrics"] = True
    findings = verify_after_run(run_id, rt)
    outcome["alerts_sent"] = findings.alerts_sent
    outcome["resolved"] = findings.resolved
    return outcome
