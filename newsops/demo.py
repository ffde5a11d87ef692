"""``make demo``: news crawled over real HTTP flows through the real workflow on this machine.

The Japanese company model is trained first (short schedule, on the shipped labelled data)
when the registry has no prod model for it. A bundled sample news site (five outlets on
127.0.0.x, English and Japanese) is served and crawled; the batch the crawler writes under
``incoming/`` triggers the run, exactly as an S3 put would on AWS. The sample's ground truth is kept aside and used only to score the outputs.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from pathlib import Path

from chalicelib.contract import keys
from chalicelib.crawl.crawler import crawl
from chalicelib.crawl.report import recent_reports
from chalicelib.ops.verifier import format_verdict, run_verifier
from newsops.local import local_runtime
from newsops.modeltrain import ensure_task_model, print_dev_comparison
from newsops.summary import print_crawl_summary, print_run_summary

log = logging.getLogger("newsops.demo")


def run_demo(*, articles: int = 240, chunk_size: int = 40, seed: int | None = None,
             crawl_site: bool = True) -> int:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="newsops-demo-") as tmp, \
            local_runtime(chunk_size=chunk_size) as rt:
        truth = Path(tmp) / "truth.jsonl"
        company_model = ensure_task_model(rt, "companies")
        if crawl_site:
            # Each demo publishes a new day of news, so a second demo on the same home has
            # new articles to crawl (and shows the duplicates it skipped).
            seed = seed if seed is not None else 7 + len(recent_reports(rt.ledger, limit=1000))
            batch_key = _crawl_sample_site(rt, articles, seed, truth)
        else:
            batch_key = _put_generated_batch(rt, articles, seed if seed is not None else 7, truth)
        if batch_key is None:
            print("nothing new to process: every article was seen before (incremental crawl)")
            return 0
        info = rt.store.head(batch_key)
        rid = keys.run_id(batch_key, info.etag) if info else ""
        status = print_run_summary(rt, rid)
        _print_quality(rt, rid, truth)
        if company_model is not None:
            print_dev_comparison(rt, "companies", company_model)
        # The scheduled verifier's view too: every run and source, not only this one.
        print(format_verdict(run_verifier(rt)))
    print(f"  demo took {time.monotonic() - started:.1f}s; `newsops serve` shows the dashboard, "
          f"`newsops search QUERY` searches the results")
    return status


def _crawl_sample_site(rt, articles: int, seed: int, truth_path: Path) -> str | None:
    from newsops.site import DEMO_PORT, sample_site

    with sample_site(articles, seed=seed, port=DEMO_PORT) as site:
        hosts = ", ".join(f"{h} ({srv.server_address[0]}:{srv.server_address[1]})"
                          for h, srv in site.servers.items())
        log.info("demo: serving the sample news site on %s", hosts)
        with open(truth_path, "w", encoding="utf-8") as f:
            for url, published in site.truth().items():
                f.write(json.dumps({**published.article.truth(), "url": url}, ensure_ascii=False) + "\n")
        log.info("demo: crawling it; the batch the crawler writes triggers the run")
        report = crawl(rt, site.sources(), budget_s=300)
    print_crawl_summary(report)
    return report.batch_key


def _put_generated_batch(rt, articles: int, seed: int, truth_path: Path) -> str:
    from newsops.sample import generate, write_jsonl_gz

    batch = truth_path.with_name("batch.jsonl.gz")
    n = write_jsonl_gz(batch, generate(articles, seed=seed), with_truth_path=truth_path)
    now = rt.clock.utcnow()
    key = keys.incoming(f"demo-{now:%Y%m%dT%H%M%S}", now)
    log.info("demo: %d generated articles -> %s (this put triggers the run)", n, key)
    rt.store.put(key, batch.read_bytes())
    return key


def _print_quality(rt, rid: str, truth: Path) -> None:
    from newsops.evaluate import evaluate_run, print_evaluation

    try:
        report = evaluate_run(rt, rid, truth)
    except KeyError:
        return  # no manifest: the run never started
    if report.get("tasks"):
        print_evaluation(report)
