"""The issue's "done when": a lost result object, a job left hanging and a stopped crawl each raise
exactly one alert, however often the verifier and the reaper run, and later one "resolved".

Runs go through the real pipeline (local executor, worker processes); the scheduled passes are
called with an explicit clock, hours apart, instead of waiting for them.
"""

from __future__ import annotations

import sys
import time

from chalicelib.compute.base import JobRequest
from chalicelib.contract import keys
from chalicelib.ops.freshness import source_freshness
from chalicelib.ops.reaper import reap
from chalicelib.ops.verifier import run_verifier
from chalicelib.settings import OpsSettings
from tests.conftest import fake_task
from tests.ops.support import alerts_of, crawl_doc, pid_alive
from tests.pipeline_support import article, jsonl_gz, put_incoming

OPS = OpsSettings(alert_cooldown_s=6 * 3600, freshness_window_s=24 * 3600)
HOUR = 3600.0


def test_a_lost_result_object_is_alerted_once_and_resolved_once(make_runtime):
    rt = make_runtime(tasks=[fake_task("t")], chunk_size=5)
    _, rid = put_incoming(rt, "lost.jsonl.gz", jsonl_gz([article(i) for i in range(10)]))
    t0 = time.time()
    assert run_verifier(rt, now=t0, ops=OPS).verdict == "ok"
    lost = keys.result(rid, "t", 1)
    info = rt.store.head(lost)
    data = rt.store.get(lost)
    rt.store.delete(lost)

    verdicts = [run_verifier(rt, now=t0 + h * HOUR, ops=OPS) for h in (1, 2, 3, 4, 5)]
    assert [v.verdict for v in verdicts] == ["problems"] * 5
    sent = alerts_of(rt, f"run-results:{rid}")
    assert sent == [("error", f"newsops result missing: run {rid}")]
    [alert] = [a for a in rt.alerts.read() if (a.get("details") or {}).get("finding")]
    assert alert["run_id"] == rid and alert["stage"] == "verify"
    assert f"missing result {lost}" in alert["reason"]
    assert alert["counts"]["missing"] == 1
    assert any("report.json" in x for x in alert["look_at"])

    rt.store.put(lost, data, metadata=dict(info.metadata))  # restored from a backup
    assert run_verifier(rt, now=t0 + 5.5 * HOUR, ops=OPS).verdict == "ok"
    run_verifier(rt, now=t0 + 6.5 * HOUR, ops=OPS)
    assert alerts_of(rt, f"run-results:{rid}") == [
        ("error", f"newsops result missing: run {rid}"),
        ("resolved", f"newsops RESOLVED: result missing: run {rid}")]


def test_a_job_left_hanging_is_stopped_alerted_once_and_resolved_once(make_runtime, tmp_path):
    rt = make_runtime(tasks=[fake_task("t")], chunk_size=5)
    _, rid = put_incoming(rt, "done.jsonl.gz", jsonl_gz([article(i) for i in range(6)]))
    assert rt.ledger.get_run(rid).state == "SUCCEEDED"
    # A job of this run that nothing stopped: the case the reaper exists for.
    job_id = rt.compute.submit(JobRequest(
        name=f"{rid}-t", queue="local", definition="newsops-t",
        command=[sys.executable, "-c", "import time; time.sleep(600)"],
        tags={"newsops-run-id": rid, "newsops-task": "t"}))
    deadline = time.monotonic() + 10
    while not rt.compute.describe(job_id).tags.get("pgids") and time.monotonic() < deadline:
        time.sleep(0.02)
    pgid = int(rt.compute.describe(job_id).tags["pgids"])
    now = time.time()

    first = reap(rt, now=now, ops=OPS)
    assert [t["job_id"] for t in first.terminated] == [job_id]
    assert "is SUCCEEDED" in first.terminated[0]["reason"]
    assert rt.compute.wait(job_id, poll_s=0.05).status == "FAILED"
    assert not pid_alive(pgid)
    for h in (1, 2, 3):
        assert reap(rt, now=now + h * HOUR, ops=OPS).terminated == []
    assert alerts_of(rt, "job-hung:") == [
        ("error", f"newsops job left running, stopped: {rid}-t"),
        ("resolved", f"newsops RESOLVED: job left running, stopped: {rid}-t")]
    assert run_verifier(rt, now=now, ops=OPS).verdict == "ok"


def _crawler(rt, t0: float):
    def crawl(h: float, new: dict[str, int]) -> None:
        when = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(t0 + h * HOUR))
        rt.ledger.put_state("crawl-report", f"{when}-c", crawl_doc(f"{when}-c", when, new))
    return crawl


def test_a_stopped_crawl_is_alerted_once_and_resolved_once(make_runtime):
    rt = make_runtime()
    t0 = 1_800_000_000.0
    crawl = _crawler(rt, t0)
    for h in range(0, 12, 3):
        crawl(h, {"Harbor Ledger": 4, "Granite Wire": 2})
    assert run_verifier(rt, now=t0 + 12 * HOUR, ops=OPS).sources_checked == 2
    # The crawler stops after hour 9; the verifier runs every hour. At hour 33 the last crawl
    # is 24h old: from then on the crawler is stopped, and both sources would be stale.
    verdicts = {h: run_verifier(rt, now=t0 + h * HOUR, ops=OPS) for h in range(13, 39)}
    assert verdicts[33].verdict == "ok" and verdicts[34].verdict == "problems"
    assert verdicts[38].verdict == "problems"
    assert alerts_of(rt, "crawl-stopped:") == [("error", "newsops crawler stopped: no crawl for 25.0h")]
    assert alerts_of(rt, "source-stale:") == []  # one alert for the crawler, none per source

    crawl(38.5, {"Harbor Ledger": 3, "Granite Wire": 1})
    assert run_verifier(rt, now=t0 + 39 * HOUR, ops=OPS).verdict == "ok"
    run_verifier(rt, now=t0 + 40 * HOUR, ops=OPS)
    assert [s for s, _ in alerts_of(rt, "crawl-stopped:")] == ["error", "resolved"]
    assert alerts_of(rt, "source-stale:") == []


def test_a_source_that_stops_bringing_articles_is_alerted_once_and_resolved_once(make_runtime):
    rt = make_runtime()
    t0 = 1_800_000_000.0
    crawl = _crawler(rt, t0)
    for h in range(0, 38):  # stale from hour 33: under the 6h cool-down, so no reminder
        crawl(h, {"Harbor Ledger": 4, "Granite Wire": 2 if h < 10 else 0})
        run_verifier(rt, now=t0 + h * HOUR + 60, ops=OPS)
    # Granite Wire's last new article came with the crawl of hour 9: stale from hour 33 on.
    assert alerts_of(rt, "source-stale:") == [("warning", "newsops source stale: Granite Wire")]
    status = {s.source: s for s in source_freshness(
        rt.ledger, now=t0 + 38 * HOUR, window_s=OPS.freshness_window_s)}
    assert status["Granite Wire"].stale and not status["Harbor Ledger"].stale
    crawl(38, {"Harbor Ledger": 4, "Granite Wire": 5})
    run_verifier(rt, now=t0 + 38 * HOUR + 60, ops=OPS)
    run_verifier(rt, now=t0 + 39 * HOUR, ops=OPS)
    assert [s for s, _ in alerts_of(rt, "source-stale:")] == ["warning", "resolved"]
