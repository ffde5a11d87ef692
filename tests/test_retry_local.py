"""Retrying a failed run on the local backend: the real pipeline.asl.json, worker processes, a
worker killed mid-chunk, and a retry that runs only the chunks without a verified result."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from chalice.test import Client

from chalicelib.contract import keys
from chalicelib.contract.schema import RunManifest
from chalicelib.factory import build_runtime
from chalicelib.retry import RetryRefused, missing_chunks, retry_run
from chalicelib.runtime import set_runtime
from chalicelib.schema import RunReport
from chalicelib.settings import Settings
from newsops.cli import main as cli_main
from tests.conftest import fake_task
from tests.pipeline_support import article, jsonl_gz, put_incoming

TASKS = [fake_task("alpha", attempts=1), fake_task("beta", attempts=1)]
# 20 articles in chunks of 5: the KILL article sits in chunk 1 of every task.
INPUT = jsonl_gz([article(i, title=f"Story {i}{' KILL' if i == 7 else ''}") for i in range(20)])


def _results(rt, rid: str) -> dict[str, bytes]:
    prefix = f"{keys.run_prefix(rid)}results/"
    return {k.removeprefix(prefix): rt.store.get(k) for k in rt.store.list(prefix)}


def _executions(count_file: Path) -> list[str]:
    return count_file.read_text().splitlines() if count_file.exists() else []


def _uninterrupted_results(tmp_path: Path) -> dict[str, bytes]:
    tasks_file = tmp_path / "tasks-clean.json"
    tasks_file.write_text(json.dumps({"tasks": TASKS}))
    rt = build_runtime(Settings(home=tmp_path / "clean-home", tasks_file=tasks_file, workers=2,
                                retry_interval_scale=0.0, queue_wait_s=30, chunk_size=5))
    set_runtime(rt)
    try:
        _, rid = put_incoming(rt, "batch.jsonl.gz", INPUT)
        assert RunReport.model_validate_json(rt.store.get(keys.report(rid))).verdict == "ok"
        return _results(rt, rid)
    finally:
        rt.close()
        set_runtime(None)


def test_a_retry_reruns_only_the_missing_chunks_and_gives_the_uninterrupted_results(
        make_runtime, monkeypatch, tmp_path, capsys):
    expected = _uninterrupted_results(tmp_path)
    count = tmp_path / "executions.txt"
    monkeypatch.setenv("NEWSOPS_FAKE_COUNT_FILE", str(count))
    monkeypatch.setenv("NEWSOPS_FAKE_KILL", "1")
    rt = make_runtime(tasks=TASKS, chunk_size=5)
    _, rid = put_incoming(rt, "batch.jsonl.gz", INPUT)

    run = rt.ledger.get_run(rid)
    assert run.state == "FAILED" and run.attempt == 1
    manifest = RunManifest.model_validate_json(rt.store.get(keys.manifest(rid)))
    missing = missing_chunks(rt, manifest)
    assert all(1 in chunks for chunks in missing.values())  # the killed chunk, in both tasks
    assert sum(len(c) for c in missing.values()) < 2 * len(manifest.chunks)  # some were done
    done_before = {k: v for k, v in _results(rt, rid).items()}

    monkeypatch.delenv("NEWSOPS_FAKE_KILL")
    count.unlink()
    outcome = retry_run(rid, rt)

    assert outcome.attempt == 2 and outcome.execution == f"{rid}-r1" and outcome.status == "SUCCEEDED"
    assert outcome.rerun == {t: c for t, c in missing.items() if c}
    # Exactly the missing chunks ran again, once each; the finished ones were not touched.
    first_ids = {f"{t} {manifest.chunks[n].index}" for t, c in missing.items() for n in c}
    ran = _executions(count)
    assert len(ran) == sum(len(c) for c in missing.values()) == len(first_ids)
    results = _results(rt, rid)
    assert results == expected  # byte-identical to the run that was never interrupted
    for key, data in done_before.items():
        assert results[key] == data

    report = RunReport.model_validate_json(rt.store.get(keys.report(rid)))
    assert report.verdict == "ok" and report.indexed == 20 and rt.search.count(run_id=rid) == 20
    run = rt.ledger.get_run(rid)
    assert run.state == "SUCCEEDED" and run.attempt == 2 and run.execution == f"{rid}-r1"
    [first] = run.detail["attempts"]
    assert first["attempt"] == 1 and first["execution"] == rid and first["verdict"] == "failed"
    assert first["problems"]
    assert rt.workflow.describe(rid).status == "FAILED"  # the first attempt's history stays
    assert rt.workflow.describe(f"{rid}-r1").status == "SUCCEEDED"
    # The failure was alerted; the retry's success resolves it.
    alerts = rt.alerts.read()
    assert any(a["severity"] == "error" and rid in a["subject"] for a in alerts)
    assert any(a["severity"] == "resolved" and a.get("run_id") == rid for a in alerts), alerts

    # The API and the dashboard show both attempts.
    import app

    with Client(app.app) as client:
        detail = json.loads(client.http.get(f"/runs/{rid}").body)
        data = json.loads(client.http.get("/dashboard/data").body)
    assert detail["run"]["attempt"] == 2
    assert [(a["attempt"], a["execution"], a["state"]) for a in detail["attempts"]] == [
        (1, rid, "FAILED"), (2, f"{rid}-r1", "SUCCEEDED")]
    assert detail["attempts"][0]["problems"] and detail["attempts"][1]["rerun"] == {
        t: len(c) for t, c in missing.items() if c}
    assert detail["execution"]["status"] == "SUCCEEDED"  # the current attempt's execution
    assert [p["attempts"] for p in data["runs"] if p["run_id"] == rid] == [2]

    with pytest.raises(RetryRefused, match="succeeded"):
        retry_run(rid, rt)

    monkeypatch.setenv("NEWSOPS_HOME", str(rt.settings.home))
    monkeypatch.setenv("NEWSOPS_TASKS_FILE", str(rt.settings.tasks_file))
    capsys.readouterr()
    assert cli_main(["status", rid]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["verdict"] == "ok" and [a["state"] for a in shown["attempts"]] == ["FAILED", "SUCCEEDED"]


def test_a_run_with_nothing_missing_but_a_failed_index_reruns_no_job(make_runtime, monkeypatch, tmp_path):
    count = tmp_path / "executions.txt"
    monkeypatch.setenv("NEWSOPS_FAKE_COUNT_FILE", str(count))
    rt = make_runtime(tasks=TASKS, chunk_size=5)
    _, rid = put_incoming(rt, "batch.jsonl.gz", jsonl_gz([article(i) for i in range(10)]))
    assert rt.ledger.get_run(rid).state == "SUCCEEDED"
    # As if its verify had failed: every result is there, so the retry submits no job.
    rt.ledger.update_run(rid, state="FAILED", verdict="failed")
    count.unlink()
    outcome = retry_run(rid, rt)
    assert outcome.rerun == {} and outcome.kept == {"alpha": 2, "beta": 2}
    assert _executions(count) == []
    assert rt.ledger.get_run(rid).state == "SUCCEEDED"


def test_retry_refuses_what_it_cannot_retry_with_the_reason(make_runtime, monkeypatch, tmp_path, capsys):
    rt = make_runtime(tasks=TASKS, chunk_size=5)
    with pytest.raises(RetryRefused, match="no run nope"):
        retry_run("nope", rt)
    _, rid = put_incoming(rt, "bad.jsonl.gz", b"not gzip at all")
    with pytest.raises(RetryRefused, match="rejected"):
        retry_run(rid, rt)
    monkeypatch.setenv("NEWSOPS_HOME", str(rt.settings.home))
    monkeypatch.setenv("NEWSOPS_TASKS_FILE", str(rt.settings.tasks_file))
    assert cli_main(["run", "--retry", rid]) == 1
    assert "input was rejected" in capsys.readouterr().err
