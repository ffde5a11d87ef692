"""The status API through Chalice's test client: answers, paging, validation (400) and 404."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from chalice.test import Client

from chalicelib.api import openapi
from chalicelib.api.models import DashboardData, RunDetail, RunsPage, Status
from chalicelib.api.routes import HERE
from chalicelib.clock import ManualClock
from chalicelib.ops.verifier import run_verifier
from chalicelib.runtime import set_runtime
from chalicelib.settings import OpsSettings
from tests.conftest import fake_task
from tests.ops.support import crawl_doc
from tests.pipeline_support import article, jsonl_gz, put_incoming

# Any instant works: nothing here is compared with the real clock (see tests/test_clock.py).
START = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def _three_runs(tmp_path_factory):
    """Two finished runs, built once for the module (each chunk x task starts a worker process)."""
    from chalicelib.factory import build_runtime
    from chalicelib.settings import Settings

    tmp = tmp_path_factory.mktemp("api")
    tasks = tmp / "tasks.json"
    tasks.write_text(json.dumps({"tasks": [fake_task("alpha", model_version="a7"), fake_task("beta")]}))
    # Every time the API answers with (runs, crawl age, verdict) is on this clock, not the real one.
    clock = ManualClock(START)
    rt = build_runtime(Settings(home=tmp / "home", tasks_file=tasks, workers=2, retry_interval_scale=0.0,
                                queue_wait_s=30, chunk_size=4), clock=clock)
    set_runtime(rt)
    rids = []
    for n, size in enumerate((9, 3)):
        records = [article(100 * n + i, published=f"2026-11-{10 + i % 4:02d}T08:00:00Z") for i in range(size)]
        rids.append(put_incoming(rt, f"b{n}.jsonl.gz", jsonl_gz(records))[1])
        clock.advance(60)  # the runs are a minute apart: newest first is a real order
    yield rt, rids
    rt.close()
    set_runtime(None)


@pytest.fixture
def runs(_three_runs):
    set_runtime(_three_runs[0])  # other tests install their own runtime
    return _three_runs


def get(app, path: str):
    with Client(app) as client:
        return client.http.get(path)


def test_health_status_and_paged_runs(ops_app, runs):
    rt, rids = runs
    r = get(ops_app, "/health")
    assert r.status_code == 200 and r.json_body["status"] == "ok"
    # The last crawl ended an hour before the runtime's "now": inside the 24h freshness window.
    when = (rt.clock.utcnow() - timedelta(hours=1)).isoformat()
    rt.ledger.put_state("crawl-report", f"{when}-c", crawl_doc(f"{when}-c", when, {"Harbor Ledger": 3}))
    run_verifier(rt, ops=OpsSettings())
    status = Status.model_validate(get(ops_app, "/status").json_body)
    assert status.time == rt.clock.now() and status.verifier.time == rt.clock.now()
    assert status.last_crawl.articles == 3 and [s.source for s in status.sources] == ["Harbor Ledger"]
    assert status.sources[0].age_s == 3600 and not status.sources[0].stale
    assert [r.run_id for r in status.runs] == rids[::-1]
    assert status.runs_by_state == {"SUCCEEDED": 2}
    assert status.verifier.verdict == "ok" and status.open_alerts == []

    page = RunsPage.model_validate(get(ops_app, "/runs?limit=1").json_body)
    assert [r.run_id for r in page.runs] == [rids[1]] and page.next_before is not None
    rest = RunsPage.model_validate(get(ops_app, f"/runs?limit=1&before={page.next_before!r}").json_body)
    assert [r.run_id for r in rest.runs] == [rids[0]] and rest.next_before is None
    assert get(ops_app, "/runs?state=failed").json_body["runs"] == []
    assert len(get(ops_app, "/runs?state=SUCCEEDED").json_body["runs"]) == 2


def test_one_run_per_task_per_chunk(ops_app, runs):
    rt, rids = runs
    detail = RunDetail.model_validate(get(ops_app, f"/runs/{rids[0]}").json_body)
    assert detail.run.state == "SUCCEEDED" and detail.chunks_total == 3
    alpha = detail.tasks["alpha"]
    assert alpha.model_version == "a7" and alpha.chunks_done == 3 and alpha.records == 9
    assert [(c.index, c.articles, c.state, c.records, c.model_version) for c in alpha.chunks] == [
        (0, 4, "done", 4, "a7"), (1, 4, "done", 4, "a7"), (2, 1, "done", 1, "a7")]
    assert all(c.attempts == 1 and c.seconds is not None for c in alpha.chunks)
    [job] = alpha.jobs
    assert job.name == f"{rids[0]}-alpha" and job.status == "SUCCEEDED" and job.array_size == 3
    assert set(detail.timings) >= {"ingest", "tasks", "index", "verify"}
    assert detail.execution.status == "SUCCEEDED"
    assert detail.lineage["models"]["alpha"]["version"] == "a7"
    assert detail.lineage["input"]["key"].endswith("b0.jsonl.gz")
    assert detail.report.verdict == "ok" and detail.report.indexed == 9

    paged = get(ops_app, f"/runs/{rids[0]}?chunk_offset=2&chunk_limit=1").json_body
    assert [c["index"] for c in paged["tasks"]["beta"]["chunks"]] == [2]

    key = f"runs/{rids[0]}/results/beta/00001.jsonl.gz"
    info, data = rt.store.head(key), rt.store.get(key)
    rt.store.delete(key)
    beta = get(ops_app, f"/runs/{rids[0]}").json_body["tasks"]["beta"]["chunks"]
    assert [c["state"] for c in beta] == ["done", "missing", "done"]
    rt.store.put(key, data, metadata=dict(info.metadata))


@pytest.mark.parametrize("path, message", [
    ("/runs?state=BOGUS", "state must be one of"),
    ("/runs?limit=0", "limit must be from 1 to 200"),
    ("/runs?limit=ten", "limit must be an integer"),
    ("/runs?before=-1", "before must be a finite"),
    ("/runs?before=nan", "before must be a finite"),
    ("/runs?page=2", "unknown query parameter(s) page"),
    ("/runs/bad%20id", "run_id must be"),
    ("/runs/x?chunk_limit=5000", "chunk_limit must be from 1 to 1000"),
    ("/status?verbose=1", "unknown query parameter(s) verbose"),
    ("/dashboard/data?days=365", "days must be from 1 to 90"),
    ("/?x=1", "unknown query parameter"),
])
def test_bad_parameters_are_400_with_a_message(ops_app, make_runtime, path, message):
    make_runtime()
    r = get(ops_app, path)
    assert r.status_code == 400, r.body
    assert r.json_body["Code"] == "BadRequestError" and message in r.json_body["Message"]


def test_an_unknown_run_is_404(ops_app, make_runtime):
    make_runtime()
    r = get(ops_app, "/runs/no-such-run-0000000000000000")
    assert r.status_code == 404 and r.json_body == {
        "Code": "NotFoundError", "Message": "no run no-such-run-0000000000000000"}


def test_dashboard_page_and_data(ops_app, runs):
    rt, rids = runs
    page = get(ops_app, "/")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'sha256-" in csp
    html = page.body.decode()
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "") and "https://" not in html
    data = DashboardData.model_validate(get(ops_app, "/dashboard/data?days=7").json_body)
    assert data.window_end == "2026-11-13" and len(data.days) == 7 and data.documents == 12
    [source] = data.by_source
    assert source.name == "Example News" and sum(p.count for p in source.points) == 12
    assert [r.run_id for r in data.runs] == rids and all(r.state == "SUCCEEDED" for r in data.runs)


def test_openapi_json_in_the_repo_is_what_the_models_say():
    assert (HERE / "openapi.json").read_text(encoding="utf-8") == openapi.render(), \
        "run: python -m chalicelib.api.openapi > chalicelib/api/openapi.json"
    doc = json.loads(openapi.render())
    assert set(doc["paths"]) == {"/health", "/status", "/runs", "/runs/{run_id}", "/dashboard/data", "/", "/search",
                                 "/openapi.json"}


def test_every_route_requires_iam_on_api_gateway(ops_app):
    for path, methods in ops_app.routes.items():
        for method, entry in methods.items():
            assert type(entry.authorizer).__name__ == "IAMAuthorizer", (path, method)
