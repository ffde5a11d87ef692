"""The scheduled verifier's run checks: failed runs told once, stuck runs, dead executions, the index."""

from __future__ import annotations

import json
import sqlite3
import time

from chalicelib.ops.run_end import on_run_end
from chalicelib.ops.verifier import format_verdict, latest_verdict, run_verifier
from chalicelib.settings import OpsSettings
from tests.conftest import fake_task
from tests.ops.support import alerts_of
from tests.pipeline_support import article, jsonl_gz, put_incoming

OPS = OpsSettings(alert_cooldown_s=6 * 3600)


def test_a_run_failed_by_the_pipeline_is_not_alerted_twice(make_runtime, monkeypatch):
    monkeypatch.setenv("NEWSOPS_FAKE_MODE", "fail")
    rt = make_runtime(tasks=[fake_task("t", attempts=1)], chunk_size=5)
    _, rid = put_incoming(rt, "fail.jsonl.gz", jsonl_gz([article(i) for i in range(5)]))
    assert rt.ledger.get_run(rid).state == "FAILED"
    pipeline_alerts = len(rt.alerts.read())
    verdict = run_verifier(rt, ops=OPS)
    run_verifier(rt, now=time.time() + 12 * 3600, ops=OPS)
    assert len(rt.alerts.read()) == pipeline_alerts  # the pipeline's failure alert was enough
    assert verdict.verdict == "problems"
    [finding] = verdict.open_findings
    assert finding["id"] == f"run-failed:{rid}" and "failure path alerted" in finding["reason"]
    assert "run FAILED" in format_verdict(verdict)


def test_a_run_that_failed_without_an_execution_is_alerted_once(make_runtime):
    rt = make_runtime(tasks=[fake_task("t")])
    bad = [{"url": "nope", "title": "", "body": ""}] * 3  # nothing valid: no execution starts
    _, rid = put_incoming(rt, "empty.jsonl.gz", jsonl_gz(bad))
    assert rt.ledger.get_run(rid).state == "FAILED" and rt.workflow.describe(rid) is None
    # Ingest told someone, with the cause; the verifier's passes add no second alert but keep
    # the verdict at "problems" while the run is in the look-back.
    [alert] = rt.alerts.read()
    assert alert["subject"] == f"newsops run FAILED at ingest: {rid}" and "quarantined" in alert["reason"]
    for h in range(4):
        run_verifier(rt, now=time.time() + h * 3600, ops=OPS)
        assert latest_verdict(rt)["verdict"] == "problems"
    assert alerts_of(rt, "run-failed:") == [] and len(rt.alerts.read()) == 1
    # Out of the look-back the finding closes without a "resolved": the run did not get fixed.
    run_verifier(rt, now=time.time() + 8 * 86400, ops=OPS)
    assert len(rt.alerts.read()) == 1
    assert latest_verdict(rt)["verdict"] == "ok"


def test_stuck_runs_and_executions_that_died_unrecorded(make_runtime):
    rt = make_runtime(tasks=[fake_task("t")], chunk_size=5)
    _, rid = put_incoming(rt, "stuck.jsonl.gz", jsonl_gz([article(i) for i in range(5)]))
    # As if the run were still RUNNING, its execution alive, and the run limit just passed.
    now = rt.ledger.get_run(rid).created + rt.settings.run_timeout_s + 60
    rt.ledger.update_run(rid, state="RUNNING")
    rt.ledger.put_state("executions", rid, {"status": "RUNNING", "started": now})
    assert run_verifier(rt, now=now, ops=OPS).verdict == "problems"
    run_verifier(rt, now=now + 60, ops=OPS)
    assert [s for s, _ in alerts_of(rt, "run-stuck:")] == ["error"]
    rt.ledger.update_run(rid, state="SUCCEEDED")
    assert run_verifier(rt, now=now + 120, ops=OPS).verdict == "ok"
    assert [s for s, _ in alerts_of(rt, "run-stuck:")] == ["error", "resolved"]

    # Now the execution is over (timed out) but the ledger was never told.
    rt.ledger.update_run(rid, state="RUNNING")
    rt.ledger.put_state("executions", rid, {"status": "TIMED_OUT", "error": "States.Timeout"})
    run_verifier(rt, now=rt.ledger.get_run(rid).created + 60, ops=OPS)
    assert alerts_of(rt, "run-failed:") == [("error", f"newsops run died without a verdict: {rid}")]


def test_documents_moved_by_a_later_run_are_not_a_loss_but_deleted_ones_are(make_runtime):
    rt = make_runtime(tasks=[fake_task("t")], chunk_size=5)
    articles = [article(i) for i in range(6)]
    _, first = put_incoming(rt, "a.jsonl.gz", jsonl_gz(articles))
    _, second = put_incoming(rt, "b.jsonl.gz", jsonl_gz(articles[:4]))  # the same ids, re-indexed
    assert rt.search.count(run_id=first) == 2
    assert run_verifier(rt, ops=OPS).verdict == "ok"
    with sqlite3.connect(rt.settings.home / "search.sqlite3") as db:
        db.execute("DELETE FROM docs WHERE run_id = ? AND rowid IN "
                   "(SELECT rowid FROM docs WHERE run_id = ? LIMIT 1)", (second, second))
    verdict = run_verifier(rt, ops=OPS)
    assert [f["id"] for f in verdict.open_findings] == [f"run-results:{second}"]
    assert "index holds 3 documents of this run, expected 4" in verdict.open_findings[0]["reason"]


def test_run_end_emits_the_run_metrics_once_per_verdict(make_runtime):
    rt = make_runtime(tasks=[fake_task("alpha"), fake_task("beta")], chunk_size=4)
    _, rid = put_incoming(rt, "m.jsonl.gz", jsonl_gz([article(i) for i in range(10)]))
    # app.py's verify step already ran on_run_end: a second call emits nothing more.
    assert on_run_end(rid, rt)["metrics"] is False
    docs = [json.loads(x) for x in (rt.settings.home / "metrics.jsonl").read_text().splitlines()]
    run_docs = [d for d in docs if "Articles" in d]
    assert len(run_docs) == 1
    run_doc = run_docs[0]
    assert run_doc["Articles"] == [10.0] and run_doc["Chunks"] == [3.0] and run_doc["Failures"] == [0.0]
    assert run_doc["run_id"] == rid
    names = {m["Name"] for m in run_doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert names >= {"Articles", "Chunks", "TaskSeconds", "Failures"}
    per_task = {d["task"] for d in docs if "task" in d}
    assert per_task == {"alpha", "beta"}
