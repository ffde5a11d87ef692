"""``newsops replay`` on the local backend: archived batches (and archived raw HTML) run again
with another model version, beside production, through the real state machine and workers."""

from __future__ import annotations

import gzip
import hashlib
from datetime import date

import pytest

from chalicelib.contract import keys
from chalicelib.contract.schema import RunManifest
from chalicelib.replay import ReplayError, replay
from chalicelib.schema import RunReport
from chalicelib.search.base import SearchQuery
from newsops.cli import main as cli_main
from tests.conftest import fake_task
from tests.pipeline_support import article, jsonl_gz

TASKS = [fake_task("alpha", model_version="v1"), fake_task("beta")]
DAYS = ("2026-11-25", "2026-11-26", "2026-11-27")


def _checksums(rt, rid: str) -> dict[str, str]:
    return {k: hashlib.sha256(rt.store.get(k)).hexdigest() for k in rt.store.list(keys.run_prefix(rid))}


def _archive_three_batches(rt) -> list[str]:
    rids = []
    for n, day in enumerate(DAYS):
        key = f"incoming/{day}/batch-{n}.jsonl.gz"
        info = rt.store.put(key, jsonl_gz([article(10 * n + i, title=f"Story {10 * n + i} zebra{n}")
                                           for i in range(6)]))
        rids.append(keys.run_id(key, info.etag))
    assert [rt.ledger.get_run(r).state for r in rids] == ["SUCCEEDED"] * 3
    return rids


def test_replaying_three_batches_makes_three_runs_beside_the_originals(make_runtime):
    rt = make_runtime(tasks=TASKS, chunk_size=4)
    originals = _archive_three_batches(rt)
    before = {rid: _checksums(rt, rid) for rid in originals}
    messages: list[str] = []

    outcome = replay(rt, task="alpha", model_version="v2", date_from=date(2026, 11, 25),
                     date_to=date(2026, 11, 27), progress=messages.append)

    assert outcome.model_version == "v2" and len(outcome.items) == 3 and outcome.failed == []
    replays = [item.run_id for item in outcome.items]
    assert len(set(replays)) == 3 and not set(replays) & set(originals)
    assert all(r.startswith("replay-alpha-") for r in replays)
    for rid in replays:
        manifest = RunManifest.model_validate_json(rt.store.get(keys.manifest(rid)))
        assert [t.name for t in manifest.tasks] == ["alpha"]  # only the replayed task runs
        assert manifest.tasks[0].model_version == "v2"
        assert manifest.replay is not None and manifest.replay.archived.startswith("incoming/2026-11-2")
        report = RunReport.model_validate_json(rt.store.get(keys.report(rid)))
        assert report.verdict == "ok" and report.indexed == 6
    assert any(m.startswith("[3/3]") for m in messages)
    # The original runs are untouched, object for object.
    assert {rid: _checksums(rt, rid) for rid in originals} == before

    # Search keeps production by default and shows both versions when asked.
    aid = keys.article_id(article(3)["url"])
    default = rt.search.search(SearchQuery(text="zebra0", size=50))
    assert {h["id"] for h in default.hits} == {keys.article_id(article(i)["url"]) for i in range(6)}
    both = rt.search.search(SearchQuery(text="zebra0", size=50, replays=True))
    mine = {h["id"]: h for h in both.hits if h.get("replay_of", h["id"]) == aid}
    assert set(mine) == {aid, f"{aid}@alpha:v2"}
    assert mine[aid]["models"] == {"alpha": "v1", "beta": "t1"} and mine[aid]["run_id"] == originals[0]
    assert mine[f"{aid}@alpha:v2"]["models"] == {"alpha": "v2"}
    assert mine[f"{aid}@alpha:v2"]["run_id"] == replays[0]

    # Run again: it resumes, finds every replay run done, and starts nothing.
    executions = len(rt.ledger.list_state("executions"))
    again = replay(rt, task="alpha", model_version="v2", date_from=date(2026, 11, 25),
                   date_to=date(2026, 11, 27))
    assert [i.status for i in again.items] == ["done"] * 3
    assert [i.run_id for i in again.items] == replays
    assert len(rt.ledger.list_state("executions")) == executions


PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Northwind opens a plant</title></head>
<body><article><h1>Northwind opens a plant</h1>
<p>Northwind Holdings said on Monday it would open a new battery plant in Ohio, hiring 900 people
over the next two years, as demand for electric vehicles keeps rising across the region.</p>
<p>The company expects the plant to reach full output in 2028, its chief executive told reporters,
adding that suppliers from Japan and Korea had already signed long-term contracts.</p>
</article></body></html>"""


def test_a_raw_replay_extracts_the_archived_html_again(make_runtime):
    rt = make_runtime(tasks=TASKS, chunk_size=4)
    for i in range(3):
        url = f"https://news.example/raw/{i}"
        rt.store.put(keys.raw_html(url, date(2026, 11, 26)), gzip.compress(PAGE.replace("Ohio", f"Ohio {i}").encode()),
                     metadata={"url": url, "status": "200", "content-type": "text/html; charset=utf-8",
                               "fetched": "2026-11-26T08:00:00+00:00", "source": "Example%20News"})
    outcome = replay(rt, task="beta", model_version=None, date_from=date(2026, 11, 26),
                     date_to=date(2026, 11, 26), source="raw")
    [item] = outcome.items
    assert item.status == "done" and item.verdict == "ok"
    assert item.batch.key == "replay/raw/2026-11-26.jsonl.gz" and item.batch.archived == "raw/2026/11/26/"
    report = RunReport.model_validate_json(rt.store.get(keys.report(item.run_id)))
    assert report.articles["valid"] == 3 and report.indexed == 3
    hit = rt.search.get(keys.replay_document_id(keys.article_id("https://news.example/raw/1"), "beta", "t1"))
    assert hit is not None and hit["title"] == "Northwind opens a plant" and hit["source"] == "Example News"
    assert "Ohio 1" in hit["body"]
    # Writing the re-extracted batch started no production run: only the replay run exists.
    assert [r.run_id for r in rt.ledger.list_runs()] == [item.run_id]


def test_replay_refuses_bad_requests_with_the_reason(make_runtime, monkeypatch, capsys):
    rt = make_runtime(tasks=TASKS)
    with pytest.raises(ReplayError, match="unknown task 'nope'"):
        replay(rt, task="nope", model_version=None, date_from=date(2026, 11, 1), date_to=date(2026, 11, 2))
    with pytest.raises(ReplayError, match="after"):
        replay(rt, task="alpha", model_version=None, date_from=date(2026, 11, 3), date_to=date(2026, 11, 2))
    monkeypatch.setenv("NEWSOPS_HOME", str(rt.settings.home))
    monkeypatch.setenv("NEWSOPS_TASKS_FILE", str(rt.settings.tasks_file))
    assert cli_main(["replay", "--task", "alpha", "--from", "2026-11-31", "--to", "2026-12-01"]) == 2
    assert "expected YYYY-MM-DD" in capsys.readouterr().err
    assert cli_main(["replay", "--task", "alpha", "--from", "2026-11-01", "--to", "2026-11-02"]) == 0
    assert "no archived incoming batches" in capsys.readouterr().out
