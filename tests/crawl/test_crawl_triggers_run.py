"""The crawl's batch is a real pipeline input: its one PUT starts exactly one run."""

from __future__ import annotations

from chalicelib.contract import keys
from chalicelib.crawl.crawler import crawl
from chalicelib.schema import RunReport
from newsops.site import sample_site
from tests.conftest import fake_task


def test_crawl_batch_triggers_one_successful_run(make_runtime) -> None:  # type: ignore[no-untyped-def]
    rt = make_runtime(tasks=[fake_task("alpha")], chunk_size=10)
    with sample_site(12, seed=6, syndicated=0) as site:
        report = crawl(rt, site.sources(), budget_s=60)
        again = crawl(rt, site.sources(), budget_s=60)
    assert report.articles == 12 and again.batch_key is None
    info = rt.store.head(report.batch_key)
    assert info is not None
    rid = keys.run_id(report.batch_key, info.etag)
    run = RunReport.model_validate_json(rt.store.get(keys.report(rid)))
    assert run.verdict == "ok", run.problems
    assert run.articles == {"input": 12, "valid": 12, "quarantined": 0}
    assert [r.run_id for r in rt.ledger.list_runs()] == [rid]
