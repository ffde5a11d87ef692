"""Every failed run alerts once, with its true cause (issue: faults on one machine, item 4)."""

from __future__ import annotations

import json

from chalicelib.contract import keys
from chalicelib.ops.verifier import run_verifier
from chalicelib.schema import RunReport
from tests.conftest import fake_task
from tests.pipeline_support import jsonl_gz, put_incoming


def test_a_batch_with_no_valid_line_fails_with_one_alert_naming_why(make_runtime):
    rt = make_runtime(tasks=[fake_task("alpha")])
    lines = [{"url": f"https://news.example/{i}", "title": "", "body": "text"} for i in range(4)]
    _, rid = put_incoming(rt, "empty.jsonl.gz", jsonl_gz([*lines, b"{not json"]))

    run = rt.ledger.get_run(rid)
    assert run.state == "FAILED"
    report = RunReport.model_validate_json(rt.store.get(keys.report(rid)))
    assert report.verdict == "failed"
    assert report.problems[0].startswith("no valid article in the input: all 5 lines quarantined")
    assert "line 1: invalid article: title" in report.problems[0]
    [alert] = rt.alerts.read()
    assert alert["severity"] == "error" and alert["subject"] == f"newsops run FAILED at ingest: {rid}"
    assert "all 5 lines quarantined" in alert["reason"]

    verdict = run_verifier(rt)  # the next scheduled pass: the same cause, and no second alert
    [finding] = [f for f in verdict.open_findings if f["run_id"] == rid]
    assert "all 5 lines quarantined" in finding["reason"] and "no execution" not in finding["reason"]
    assert len(rt.alerts.read()) == 1
    assert json.loads(rt.store.get(keys.manifest(rid)))["articles"]["valid"] == 0
