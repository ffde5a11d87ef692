"""app.py's wiring, end to end through the local pipeline: every log line of the run's
Lambdas carries its run id, the run's metrics are emitted once, the schedules answer."""

from __future__ import annotations

import json

import pytest
from chalice.test import Client

from tests.conftest import fake_task
from tests.pipeline_support import article, jsonl_gz, put_incoming


@pytest.fixture
def wired(tmp_path):
    from chalicelib.factory import build_runtime
    from chalicelib.runtime import set_runtime
    from chalicelib.settings import Settings

    tasks = tmp_path / "tasks.json"
    tasks.write_text(json.dumps({"tasks": [fake_task("t", attempts=1)]}))
    rt = build_runtime(Settings(home=tmp_path / "home", tasks_file=tasks, workers=2, retry_interval_scale=0.0,
                                queue_wait_s=30, chunk_size=5))
    set_runtime(rt)
    yield rt
    rt.close()
    set_runtime(None)


def _jsonl(path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def test_a_run_through_the_wired_app(wired, monkeypatch):
    rt = wired
    _, ok = put_incoming(rt, "ok.jsonl.gz", jsonl_gz([article(i) for i in range(7)]))
    monkeypatch.setenv("NEWSOPS_FAKE_MODE", "fail")
    _, bad = put_incoming(rt, "bad.jsonl.gz", jsonl_gz([article(100 + i) for i in range(3)]))
    home = rt.settings.home.resolve()
    lines = _jsonl(home / "logs" / "newsops.jsonl")
    indexed = [x for x in lines if "documents indexed" in x["message"]]
    assert [x["run_id"] for x in indexed] == [ok]  # a module's own line, tagged by the middleware
    assert [x["run_id"] for x in lines if " verdict " in x["message"]] == [ok]
    assert [x["run_id"] for x in lines if " failed at task t" in x["message"]] == [bad]
    assert all("run_id" in x for x in lines if x.get("event") in ("lambda", "event"))
    metrics = [m for m in _jsonl(home / "metrics.jsonl") if "Articles" in m]
    assert sorted((m["run_id"], m["Failures"][0]) for m in metrics) == sorted([(ok, 0.0), (bad, 1.0)])

    import app as wired_app

    with Client(wired_app.app) as client:
        event = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event",
                                                detail={}, resources=[])
        verdict = client.lambda_.invoke("verifier", event).payload
        reaped = client.lambda_.invoke("reaper", event).payload
    assert verdict["verdict"] == "problems" and verdict["runs_checked"] == 2
    assert [f["id"] for f in verdict["open_findings"]] == [f"run-failed:{bad}"]
    assert reaped["active"] == 0 and reaped["terminated"] == []
    # The pipeline's own failure alert was the only one about the failed run.
    assert [a["run_id"] for a in rt.alerts.read() if a["severity"] == "error"] == [bad]
