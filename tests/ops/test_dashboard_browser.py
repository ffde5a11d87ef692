"""The dashboard in headless Chromium (Debian's ``chromium``, driven by Playwright): it renders the
demo's data with no console error and no request leaving the page's origin; a screenshot is saved
under test-artifacts/ (gitignored) by every run.

The data: the demo's generated sample through the real pipeline (with the test task, so no model
is loaded), then indexed with the sample's true categories and companies, as the demo's models
would label them; plus one failed run and the verifier's findings, so every panel has content.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from chalicelib.contract import keys
from tests.conftest import fake_task
from tests.ops.conftest import ARTIFACTS, build_app
from tests.pipeline_support import jsonl_gz, put_incoming

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)")


@pytest.fixture(scope="module")
def dashboard_url(tmp_path_factory) -> Iterator[str]:
    from chalicelib.factory import build_runtime
    from chalicelib.ops.verifier import run_verifier
    from chalicelib.runtime import set_runtime
    from chalicelib.settings import Settings
    from newsops.sample import generate
    from newsops.serve import make_server

    tmp = tmp_path_factory.mktemp("dashboard")
    tasks = tmp / "tasks.json"
    tasks.write_text(json.dumps({"tasks": [fake_task("classify")]}))
    rt = build_runtime(Settings(home=tmp / "home", tasks_file=tasks, workers=2, retry_interval_scale=0.0,
                                chunk_size=60))
    set_runtime(rt)
    sample = list(generate(120, seed=7))
    _, rid = put_incoming(rt, "demo.jsonl.gz", jsonl_gz([a.record() for a in sample]))
    put_incoming(rt, "broken.jsonl.gz", jsonl_gz([{"url": "not a url"}]))
    outcome = rt.search.index(
        {"id": keys.article_id(a.url), "url": a.url, "title": a.title, "body": a.body[:500],
         "source": a.source, "language": a.language, "published": a.published, "run_id": rid,
         "category": {"label": a.category, "score": 1.0},
         "companies": [{"name": c, "normalized": c} for c in a.companies]} for a in sample)
    assert outcome.indexed == len(sample)
    run_verifier(rt)
    server = make_server("127.0.0.1", 0, build_app())
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server.server_address[1]}/"
    finally:
        server.server.shutdown()
        server.server.server_close()
        rt.close()
        set_runtime(None)


def test_dashboard_renders_the_demo_data_without_console_errors(dashboard_url):
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
                    if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(dashboard_url)
            page.wait_for_selector("body[data-ready='true']", timeout=15_000)

            assert page.text_content("#verdict") == "verifier: problems"
            sources = page.locator("#chart-sources polyline")
            assert sources.count() >= 3  # the sample's news sites
            assert page.locator("#chart-categories polyline").count() >= 4
            assert page.locator("#chart-runs rect[data-state='SUCCEEDED']").count() == 1
            assert page.locator("#chart-runs rect[data-state='FAILED']").count() == 1
            assert page.locator("#chart-companies rect").count() == 10
            alerts = page.locator("#alerts-body tr")
            assert alerts.count() == 1 and "run FAILED" in alerts.first.inner_text()
            assert "120 documents indexed" in page.inner_text("#meta")

            ARTIFACTS.mkdir(exist_ok=True)
            shot = ARTIFACTS / "dashboard.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
        finally:
            browser.close()
    assert problems == []
    origin = dashboard_url.rstrip("/")
    assert requests and all(u.startswith(origin) for u in requests), requests


def test_chromium_is_the_system_one():
    assert shutil.which("chromium") == str(CHROMIUM)
