"""The real pipeline.asl.json, run end to end by the local executor with worker processes."""

import json
import os
import threading
import time

from chalice.test import Client

from chalicelib.contract import keys
from chalicelib.schema import RunReport
from newsops.summary import print_run_summary
from tests.conftest import fake_task
from tests.pipeline_support import article, deliver_event, jsonl_gz, put_incoming, runs_tree


def _report(rt, rid) -> RunReport:
    return RunReport.model_validate_json(rt.store.get(keys.report(rid)))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except (ProcessLookupError, FileNotFoundError):
        return False


def test_success_path_reports_counts_and_indexes_every_article(make_runtime):
    rt = make_runtime(tasks=[fake_task("alpha"), fake_task("beta")], chunk_size=4)
    _, rid = put_incoming(rt, "ok.jsonl.gz", jsonl_gz([article(i) for i in range(10)]))
    report = _report(rt, rid)
    assert report.verdict == "ok", report.problems
    assert report.articles == {"input": 10, "valid": 10, "quarantined": 0}
    assert {n: (t.chunks, t.chunks_done, t.records) for n, t in report.tasks.items()} == {
        "alpha": (3, 3, 10), "beta": (3, 3, 10)}
    assert report.indexed == 10 and rt.search.count(run_id=rid) == 10
    assert set(report.timings) >= {"ingest", "tasks", "index", "verify"}
    execution = rt.workflow.describe(rid)
    assert execution.status == "SUCCEEDED"
    assert execution.states_entered[:1] == ["RunTasks"]
    assert execution.states_entered[-3:] == ["Verify", "Verdict", "NotifySuccess"]
    assert "Cleanup" not in execution.states_entered
    alerts = rt.alerts.read()
    assert [a["severity"] for a in alerts] == ["info"] and rid in alerts[0]["subject"]


def test_a_job_failing_once_succeeds_on_its_second_attempt(make_runtime, monkeypatch):
    monkeypatch.setenv("NEWSOPS_FAKE_MODE", "flaky")
    rt = make_runtime(tasks=[fake_task("flaky", attempts=2)], chunk_size=5)
    _, rid = put_incoming(rt, "flaky.jsonl.gz", jsonl_gz([article(i) for i in range(10)]))
    assert _report(rt, rid).verdict == "ok"
    job = json.loads(next((rt.settings.home / "jobs").iterdir()).read_text())
    assert job["status"] == "SUCCEEDED"
    logs = sorted(p.name for p in (rt.settings.home / "logs" / f"{rid}-flaky").iterdir())
    assert logs == ["00000.1.log", "00000.2.log", "00001.1.log", "00001.2.log"]


def test_an_always_failing_job_fails_the_run_with_one_alert_and_no_job_left(make_runtime, monkeypatch):
    monkeypatch.setenv("NEWSOPS_FAKE_MODE", "fail")
    monkeypatch.setenv("NEWSOPS_FAKE_TASK", "bad")
    rt = make_runtime(tasks=[fake_task("good"), fake_task("bad", attempts=3)], chunk_size=5)
    _, rid = put_incoming(rt, "fail.jsonl.gz", jsonl_gz([article(i) for i in range(10)]))
    report = _report(rt, rid)
    assert report.verdict == "failed"
    assert report.tasks["bad"].chunks_done == 0
    assert any("missing result" in p for p in report.problems)
    alerts = [a for a in rt.alerts.read() if a["severity"] == "error"]
    assert len(alerts) == 1
    assert alerts[0]["run_id"] == rid and alerts[0]["stage"] == "task bad"
    assert "exit code 65" in alerts[0]["reason"]
    assert rt.compute.list_jobs(name_prefix=rid) == []
    assert rt.workflow.describe(rid).status == "FAILED"
    assert rt.workflow.describe(rid).error == "newsops.RunFailed"
    assert rt.ledger.get_run(rid).state == "FAILED"
    assert print_run_summary(rt, rid) == 1


def test_a_hanging_job_and_its_child_are_killed_at_the_attempt_timeout(make_runtime, monkeypatch, tmp_path):
    pidfile = tmp_path / "pids"
    monkeypatch.setenv("NEWSOPS_FAKE_MODE", "hang")
    monkeypatch.setenv("NEWSOPS_FAKE_PIDFILE", str(pidfile))
    rt = make_runtime(tasks=[fake_task("slow", attempts=1, timeout_s=3)], chunk_size=50)
    started = time.monotonic()
    _, rid = put_incoming(rt, "hang.jsonl.gz", jsonl_gz([article(i) for i in range(5)]))
    assert time.monotonic() - started < 30
    assert _report(rt, rid).verdict == "failed"
    parent, child = map(int, pidfile.read_text().split())
    assert not _pid_alive(parent) and not _pid_alive(child)
    errors = [a for a in rt.alerts.read() if a["severity"] == "error"]
    assert len(errors) == 1 and "timeout" in errors[0]["reason"].lower()


def test_duplicate_event_during_a_live_run_changes_nothing(make_runtime, monkeypatch):
    monkeypatch.setenv("NEWSOPS_FAKE_MODE", "flaky")  # slows the run down: every chunk runs twice
    rt = make_runtime(tasks=[fake_task("t")], chunk_size=5)
    key = "incoming/2026-11-27/live.jsonl.gz"
    data = jsonl_gz([article(i) for i in range(10)])
    runner = threading.Thread(target=rt.store.put, args=(key, data))
    runner.start()
    rid = keys.run_id(key, __import__("hashlib").md5(data).hexdigest())
    deadline = time.monotonic() + 20
    while rt.workflow.describe(rid) is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert rt.workflow.describe(rid).status == "RUNNING"
    during = runs_tree(rt, rid)
    assert deliver_event(rt, key)["status"] == "duplicate"
    assert runs_tree(rt, rid) == during
    runner.join()
    assert _report(rt, rid).verdict == "ok"
    names = [json.loads(p.read_text())["name"] for p in (rt.settings.home / "jobs").iterdir()]
    assert names == [f"{rid}-t"]


def test_deleting_a_result_before_verify_fails_the_verdict_naming_the_key(make_runtime):
    import app

    rt = make_runtime(tasks=[fake_task("t")], chunk_size=5)
    _, rid = put_incoming(rt, "del.jsonl.gz", jsonl_gz([article(i) for i in range(10)]))
    assert _report(rt, rid).verdict == "ok"
    missing = keys.result(rid, "t", 1)
    rt.store.delete(missing)
    with Client(app.app) as client:
        payload = client.lambda_.invoke("verify", {"run_id": rid}).payload
    assert payload["verdict"] == "failed"
    assert f"missing result {missing}" in payload["problems"]
    assert _report(rt, rid).verdict == "failed"
    assert print_run_summary(rt, rid) == 1  # what makes `make demo` exit non-zero


def test_a_poisoned_record_is_quarantined_and_counted_while_its_chunk_succeeds(make_runtime):
    rt = make_runtime(tasks=[fake_task("t")], chunk_size=5)
    records = [article(i) for i in range(10)]
    records[6]["title"] = "POISON pill"
    _, rid = put_incoming(rt, "poison.jsonl.gz", jsonl_gz(records))
    report = _report(rt, rid)
    assert report.verdict == "ok"
    assert report.tasks["t"].records == 9 and report.tasks["t"].quarantined == 1
    q = [json.loads(x) for x in rt.store.get(keys.task_quarantine(rid, "t", 1)).splitlines()]
    assert len(q) == 1 and q[0]["reason"] == "ValueError: poisoned article"
    assert q[0]["record"]["title"] == "POISON pill"
    assert report.indexed == 10  # the article stays searchable, without that task's field
