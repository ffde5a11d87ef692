"""A run's cost through the status API and the dashboard, as the report recorded it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from chalice.test import Client

from chalicelib.api.models import DashboardData, RunDetail
from chalicelib.api.routes import HERE
from chalicelib.contract import keys
from chalicelib.schema import RunReport
from tests.conftest import fake_task
from tests.ops.conftest import build_app
from tests.ops.test_dashboard_browser import CHROMIUM, CHROMIUM_ARGS
from tests.pipeline_support import article, jsonl_gz, put_incoming


def _get(app, path: str):
    with Client(app) as client:
        return client.http.get(path)


@pytest.fixture
def priced_run(make_runtime):
    rt = make_runtime(tasks=[fake_task("alpha"), fake_task("beta", gpu=0, vcpus=2)], chunk_size=4)
    _, rid = put_incoming(rt, "cost.jsonl.gz", jsonl_gz([article(i) for i in range(9)]))
    report = RunReport.model_validate_json(rt.store.get(keys.report(rid)))
    assert report.verdict == "ok" and report.cost is not None, report.cost_error
    return rt, rid, report


def test_run_detail_and_dashboard_show_the_reports_cost(ops_app, priced_run):
    rt, rid, report = priced_run
    r = _get(ops_app, f"/runs/{rid}")
    assert r.status_code == 200
    detail = RunDetail.model_validate(r.json_body)
    assert detail.cost == report.cost and detail.cost_error is None
    assert detail.cost.total > 0 and detail.cost.per_1k_articles == pytest.approx(detail.cost.total / 9 * 1000,
                                                                                  abs=1e-6)
    for name in ("alpha", "beta"):
        usage = detail.tasks[name].usage
        assert usage == report.tasks[name].usage
        assert usage.job_attempts == 3 and usage.failed_attempts == 0 and usage.cpu_s > 0
    assert detail.tasks["beta"].usage.instance_share == 0.5  # 2 of the shipped instance's 4 vCPUs

    data = DashboardData.model_validate(_get(ops_app, "/dashboard/data?days=7").json_body)
    [point] = [p for p in data.runs if p.run_id == rid]
    assert (point.cost, point.cost_per_1k_articles, point.currency) == (
        report.cost.total, report.cost.per_1k_articles, "USD")


def test_a_run_without_cost_says_why(ops_app, make_runtime, tmp_path):
    bad = tmp_path / "prices.json"
    bad.write_text("{}")
    rt = make_runtime(tasks=[fake_task("t")], chunk_size=5, prices_file=bad)
    _, rid = put_incoming(rt, "nocost.jsonl.gz", jsonl_gz([article(i) for i in range(3)]))
    detail = RunDetail.model_validate(_get(ops_app, f"/runs/{rid}").json_body)
    assert detail.cost is None and detail.tasks["t"].usage is None
    assert detail.cost_error.startswith(f"price table {bad.resolve()}: as_of: Field required")
    data = DashboardData.model_validate(_get(ops_app, "/dashboard/data").json_body)
    assert [(p.cost, p.cost_per_1k_articles) for p in data.runs if p.run_id == rid] == [(None, None)]


def _script() -> str:
    html = (HERE / "dashboard.html").read_text(encoding="utf-8")
    return re.search(r"<script>(.*)</script>", html, re.S).group(1)


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to parse the page's script")
def test_the_dashboard_script_parses(tmp_path: Path):
    path = tmp_path / "dashboard.js"
    path.write_text(_script())
    done = subprocess.run(["node", "--check", str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")
def test_the_dashboard_shows_the_latest_cost_per_1000_articles(priced_run):
    from playwright.sync_api import sync_playwright

    from newsops.serve import make_server

    _, rid, report = priced_run
    server = make_server("127.0.0.1", 0, build_app())
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                page.goto(f"http://127.0.0.1:{server.server.server_address[1]}/")
                page.wait_for_selector("body[data-ready='true']", timeout=15_000)
                kpi = page.inner_text("#kpi-cost")
                assert "cost per 1,000 articles" in kpi and "USD" in kpi
                shown = float(kpi.split()[0])
                assert shown == pytest.approx(report.cost.per_1k_articles, rel=0.05)
                title = page.locator("#chart-runs rect title").first.text_content()
                assert rid in title and "per 1,000" in title
            finally:
                browser.close()
    finally:
        server.server.shutdown()
        server.server.server_close()
        thread.join(5)


def test_the_openapi_document_describes_the_cost_fields():
    doc = json.loads((HERE / "openapi.json").read_text(encoding="utf-8"))
    schemas = doc["components"]["schemas"]
    assert {"cost", "cost_error"} <= set(schemas["RunDetail"]["properties"])
    assert "usage" in schemas["TaskState"]["properties"]
    assert {"total", "per_1k_articles", "prices_as_of"} <= set(schemas["RunCost"]["properties"])
