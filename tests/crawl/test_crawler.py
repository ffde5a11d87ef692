"""Whole crawls over real HTTP: the bundled sample site and misbehaving servers."""

from __future__ import annotations

import gzip
import ipaddress
from collections import Counter
from datetime import UTC, datetime

import pytest

from chalicelib import jsonl
from chalicelib.contract import keys
from chalicelib.contract.schema import Article
from chalicelib.crawl.crawler import crawl_into
from chalicelib.crawl.report import recent_reports
from chalicelib.crawl.sources import SourcesConfig, SourceSpec
from newsops.site import SampleSite, sample_site
from tests.crawl.conftest import Ports, fast_options
from tests.support.badserver import BadServer

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def batch(ports: Ports, key: str | None) -> list[dict]:
    assert key is not None
    return jsonl.decode(ports.store.get(key))


def article_paths(site: SampleSite) -> list[str]:
    return [p for p in site.requests() if p not in ("/robots.txt", "/rss.xml", "/atom.xml",
                                                     "/sitemap.xml")]


def test_sample_site_end_to_end_matches_ground_truth(ports: Ports, loopback_site: SampleSite
                                                     ) -> None:
    site = loopback_site
    report = crawl_into(ports.store, ports.ledger, site.sources(), budget_s=60, now=NOW)
    truth = site.truth()
    copies = {u: p for u, p in truth.items() if p.near_duplicate_of is not None}
    records = batch(ports, report.batch_key)
    assert report.batch_key == keys.incoming(report.crawl_id, NOW)
    assert list(ports.store.list("incoming/")) == [report.batch_key]  # one object per crawl
    assert len(records) == report.articles == len(truth) - len(copies)
    t = report.totals()
    assert t["skipped"] == {"near_duplicate": len(copies)} == {"near_duplicate": 2}
    assert t["errors"] == {} and t["new"] == len(records)
    emitted = {r["url"] for r in records}
    for url, copy in copies.items():
        # Whichever of the pair came first is kept; the other is dropped by its text.
        original = next(u for u in truth if u.endswith(copy.near_duplicate_of))
        assert (url in emitted) != (original in emitted)
    for rec in records:
        Article.model_validate(rec)
        p = truth[rec["url"]]
        a = p.article
        assert rec["id"] == keys.article_id(rec["url"])
        assert rec["title"] == a.title
        assert rec["body"].split() == a.body.split()  # every word, nothing of the page chrome
        assert datetime.fromisoformat(rec["published"]) == datetime.fromisoformat(a.published)
        assert rec["language"] == a.language and rec["author"] == p.author
        assert "utm_source" not in rec["url"]
        # The raw page is archived, gzipped, under the URL-hash key of docs/design.md §4.
        assert rec["raw"] == keys.raw_html(rec["url"], NOW)
        html = gzip.decompress(ports.store.get(rec["raw"])).decode()
        assert html.count("<p>") >= 2 and a.published in html
    saved = recent_reports(ports.ledger)
    assert saved[0]["crawl_id"] == report.crawl_id and saved[0]["articles"] == len(records)


def test_second_crawl_of_unchanged_site_fetches_nothing_new(ports: Ports,
                                                            loopback_site: SampleSite) -> None:
    site = loopback_site
    first = crawl_into(ports.store, ports.ledger, site.sources(), budget_s=60, now=NOW)
    pages_before = len(article_paths(site))
    second = crawl_into(ports.store, ports.ledger, site.sources(), budget_s=60, now=NOW)
    assert first.articles > 0
    assert second.batch_key is None and second.articles == 0
    assert len(list(ports.store.list("incoming/"))) == 1
    assert len(article_paths(site)) == pages_before  # not one article page fetched again
    t = second.totals()
    conditional = [hc for hc in site.content if hc.site.conditional]
    assert t["not_modified"] == len(conditional)  # 304s
    plain = next(hc for hc in site.content if not hc.site.conditional)
    assert second.sources[plain.site.name].duplicate == len(plain.articles)  # dedup by id
    assert t["new"] == 0


def test_new_articles_on_a_live_site_are_the_only_ones_fetched(ports: Ports) -> None:
    with sample_site(20, seed=5, visible=3, syndicated=0) as site:
        shown = [min(len(hc.articles), 3) for hc in site.content]
        first = crawl_into(ports.store, ports.ledger, site.sources(), budget_s=60, now=NOW)
        assert first.articles == sum(shown)
        site.publish(2)
        before = article_paths(site)
        second = crawl_into(ports.store, ports.ledger, site.sources(), budget_s=60, now=NOW)
        fetched_now = list((Counter(article_paths(site)) - Counter(before)).elements())
        added = sum(min(len(hc.articles), 5) for hc in site.content) - sum(shown)
        assert second.articles == len(fetched_now) == added > 0
        ids_1 = {r["id"] for r in batch(ports, first.batch_key)}
        ids_2 = {r["id"] for r in batch(ports, second.batch_key)}
        assert not ids_1 & ids_2
        assert not set(fetched_now) & set(before)
        # Feeds that changed list the old articles again (dropped by id); the others 304,
        # except on the host that ignores conditional requests.
        relisted = [hc for hc in site.content if len(hc.articles) > 3 or not hc.site.conditional]
        assert second.totals()["duplicate"] == sum(min(len(hc.articles), 3) for hc in relisted)
        assert second.totals()["not_modified"] == len(site.content) - len(relisted)


def test_budget_carries_unfinished_work_to_the_next_run(ports: Ports) -> None:
    opts = fast_options(per_host_concurrency=1)
    with sample_site(30, seed=9, latency_s=0.2, syndicated=0) as site:
        cfg = site.sources(options=opts)
        # Each host needs robots.txt + feed + 6 pages = 1.6 s one at a time; 0.9 s is given.
        first = crawl_into(ports.store, ports.ledger, cfg, budget_s=1.2, now=NOW)
        t1 = first.totals()
        assert first.out_of_budget and t1["carried_over"] > 0
        assert first.articles + t1["carried_over"] == 30
        second = crawl_into(ports.store, ports.ledger, cfg, budget_s=30, now=NOW)
        assert second.totals()["carried_over"] == 0
        # The carried work needed no new feed: the feeds that can answer 304 did.
        assert second.totals()["not_modified"] == sum(hc.site.conditional for hc in site.content)
        got = [*(batch(ports, first.batch_key) if first.batch_key else []),
               *batch(ports, second.batch_key)]
        ids = [r["id"] for r in got]
        assert len(ids) == len(set(ids)) == 30  # everything once, nothing lost


def test_max_articles_per_run_carries_the_rest(ports: Ports) -> None:
    with sample_site(20, seed=4, syndicated=0) as site:
        cfg = site.sources(max_articles=2)
        first = crawl_into(ports.store, ports.ledger, cfg, budget_s=30, now=NOW)
        assert all(s.new <= 2 for s in first.sources.values())
        assert first.totals()["carried_over"] == 20 - first.articles
        runs = [first]
        while runs[-1].totals()["carried_over"]:
            runs.append(crawl_into(ports.store, ports.ledger, cfg, budget_s=30, now=NOW))
            assert len(runs) < 15
        assert sum(r.articles for r in runs) == 20


def test_per_host_concurrency_is_respected(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.crawl.conftest import LocalObjectStore, SqliteLedger

    for limit in (1, 2):
        store = LocalObjectStore(tmp_path / f"s{limit}")
        ledger = SqliteLedger(tmp_path / f"l{limit}.db")
        with sample_site(16, seed=2, latency_s=0.1, syndicated=0) as site:
            cfg = site.sources(options=fast_options(per_host_concurrency=limit))
            report = crawl_into(store, ledger, cfg, budget_s=30, now=NOW)
            assert report.articles > 0
            peaks = [srv.max_in_flight for srv in site.servers.values()]
            assert max(peaks) <= limit
            assert max(peaks) == limit


def _bad_source(bad: BadServer, feed: str = "/feed", **kw: object) -> SourceSpec:
    return SourceSpec(name=kw.pop("name", "bad"), url=bad.url(feed),  # type: ignore[arg-type]
                      allow_networks=[ipaddress.ip_network("127.0.0.1/32")], **kw)  # type: ignore[arg-type]


BAD_PAGES = {
    "/status/404": ("errors", "http_404"),
    "/status/500": ("errors", "http_500"),
    "/redirect/loop-a": ("errors", "redirect_loop"),
    "/redirect/chain/0": ("errors", "too_many_redirects"),
    "/page/huge": ("skipped", "too_large"),
    "/page/gzip-bomb": ("skipped", "too_large"),
    "/page/truncated": ("errors", "truncated"),
    "/page/image": ("skipped", "content_type"),
    "/page/stall": ("errors", "read_timeout"),
    "/page/slow": ("errors", "timeout"),
    "/page/binary": ("errors", None),  # undecodable or no text: either way counted
    "/redirect/to-metadata": ("skipped", "metadata_address"),
}
RESOLVE = {"metadata.test": ["169.254.169.254"]}


async def _resolve(host: str, port: int) -> list[str]:
    return RESOLVE[host]
GOOD_PAGES = ["/page/ok", "/page/misdeclared-charset", "/page/utf8-declared-latin1",
              "/page/no-charset", "/page/invalid-utf8", "/page/empty"]


def test_bad_pages_are_counted_and_never_stop_the_crawl(ports: Ports) -> None:
    with BadServer() as bad:
        bad.feed_paths = [*BAD_PAGES, *GOOD_PAGES]
        # Even a host on the source's allowlist, in an allowlisted network, may not lead to
        # the cloud metadata service.
        bad.redirect_targets["/redirect/to-metadata"] = "http://metadata.test/latest/"
        src = _bad_source(bad, hosts=["127.0.0.1", "metadata.test"])
        src.allow_networks.append(ipaddress.ip_network("169.254.0.0/16"))
        # The server shares this process with the crawl's extraction threads, which can keep
        # it from dripping its next byte for a few tenths of a second on a busy machine: the
        # read timeout leaves /page/slow's 0.1 s drip a wide margin (at 0.4 s it once read
        # as a read timeout in CI), and the request timeout still ends it first.
        opts = fast_options(max_attempts=1, read_timeout_s=1.0, request_timeout_s=2.0)
        cfg = SourcesConfig(options=opts, sources=[src])
        report = crawl_into(ports.store, ports.ledger, cfg, budget_s=30, now=NOW,
                            resolver=_resolve)
    rep = report.sources["bad"]
    for path, (kind, why) in BAD_PAGES.items():
        if why is not None:
            assert getattr(rep, kind)[why] >= 1, (path, why, rep.to_dict())
    assert rep.errors["undecodable"] + rep.errors["no_article_text"] >= 1
    records = {r["url"].split("?")[0].rsplit("/", 1)[1]: r for r in batch(ports, report.batch_key)}
    assert set(records) == {p.rsplit("/", 1)[1] for p in GOOD_PAGES}
    assert "東和電機株式会社" in records["misdeclared-charset"]["body"]
    assert records["misdeclared-charset"]["language"] == "ja"
    assert "crème brûlée" in records["utf8-declared-latin1"]["body"]
    assert "coûte" in records["no-charset"]["body"] or "Genève" in records["no-charset"]["body"]
    assert records["empty"]["extraction"] == "feed_summary"
    assert rep.notes["invalid_bytes_replaced"] == 1 and rep.notes["summary_fallback"] == 1
    # Every page that arrived whole is archived, including the one nothing could be read from.
    raw = set(ports.store.list("raw/"))
    assert keys.raw_html(bad.url("/page/binary"), NOW) in raw
    assert len(raw) == len(GOOD_PAGES) + 1
    assert not report.out_of_budget


def test_transient_failures_are_retried_next_run_then_dropped(ports: Ports) -> None:
    with BadServer() as bad:
        bad.feed_paths = ["/status/503", "/page/ok"]
        cfg = SourcesConfig(options=fast_options(max_attempts=2), sources=[_bad_source(bad)])
        first = crawl_into(ports.store, ports.ledger, cfg, budget_s=30, now=NOW)
        assert first.sources["bad"].carried_over == 1 and first.articles == 1
        second = crawl_into(ports.store, ports.ledger, cfg, budget_s=30, now=NOW)
        assert second.sources["bad"].errors["http_503"] == 1
        assert second.sources["bad"].carried_over == 0  # two attempts, then given up
        assert bad.paths().count("/status/503") == 2


@pytest.mark.parametrize(("feed", "kind", "why"), [
    ("/feed/malformed", "errors", "feed_malformed"),
    ("/feed/html", "errors", None),
    ("/status/500", "errors", "http_500"),
    ("/status/404", "errors", "http_404"),
    ("/page/stall", "errors", "read_timeout"),
    ("/page/huge", "skipped", "too_large"),
    ("/redirect/loop-a", "errors", "redirect_loop"),
])
def test_bad_feeds_are_counted(ports: Ports, feed: str, kind: str, why: str | None) -> None:
    with BadServer() as bad:
        cfg = SourcesConfig(options=fast_options(),
                            sources=[_bad_source(bad, feed), _bad_source(bad, name="good")])
        bad.feed_paths = ["/page/ok"]
        report = crawl_into(ports.store, ports.ledger, cfg, budget_s=30, now=NOW)
    counted = getattr(report.sources["bad"], kind)
    assert sum(counted.values()) >= 1 and (why is None or counted[why] == 1), counted
    assert report.sources["good"].new == 1  # the other source is unaffected


def test_truncated_feed_uses_its_complete_entries(ports: Ports) -> None:
    with BadServer() as bad:
        cfg = SourcesConfig(options=fast_options(), sources=[_bad_source(bad, "/feed/truncated")])
        report = crawl_into(ports.store, ports.ledger, cfg, budget_s=30, now=NOW)
    rep = report.sources["bad"]
    assert rep.notes["feed_partial"] == 1 and rep.new == 2


def test_loopback_is_refused_unless_allowlisted(ports: Ports) -> None:
    with BadServer() as bad:
        bad.feed_paths = ["/page/ok"]
        src = SourceSpec(name="bad", url=bad.url("/feed"))
        report = crawl_into(ports.store, ports.ledger, SourcesConfig(sources=[src]),
                            budget_s=10, now=NOW)
        assert report.sources["bad"].skipped["loopback_address"] == 1
        assert bad.requests == []


def test_hosts_outside_the_allowlist_are_skipped(ports: Ports) -> None:
    with BadServer() as bad, BadServer(address="127.0.0.2") as other:
        bad.feed_paths = ["/page/ok"]
        other_url = other.url("/page/ok")
        src = _bad_source(bad)
        cfg = SourcesConfig(options=fast_options(), sources=[src])
        bad.feed_paths.append(other_url.replace(f"http://127.0.0.1:{bad.port}", ""))
        import tests.support.badserver as bs

        orig = bs._feed

        def feed(c, r):  # type: ignore[no-untyped-def]
            items = [("ok", bad.url("/page/ok")), ("other", other_url)]
            c.respond(200, bs._rss(items).encode(), {"Content-Type": "application/rss+xml"})

        bs.ROUTES["/feed"] = feed
        try:
            report = crawl_into(ports.store, ports.ledger, cfg, budget_s=10, now=NOW)
        finally:
            bs.ROUTES["/feed"] = orig
        assert report.sources["bad"].skipped["host_not_allowed"] == 1
        assert report.articles == 1 and other.requests == []


def test_robots_disallow_is_honoured(ports: Ports) -> None:
    with BadServer(robots="User-agent: *\nDisallow: /page/\n") as bad:
        bad.feed_paths = ["/page/ok", "/page/ok2"]
        cfg = SourcesConfig(options=fast_options(), sources=[_bad_source(bad)])
        report = crawl_into(ports.store, ports.ledger, cfg, budget_s=10, now=NOW)
        assert report.sources["bad"].skipped["robots_disallowed"] == 2
        assert not [p for p in bad.paths() if p.startswith("/page/")]


def test_batch_put_triggers_once_and_a_failing_trigger_loses_nothing(ports: Ports) -> None:
    events: list[str] = []

    def trigger(info):  # type: ignore[no-untyped-def]
        events.append(info.key)
        raise RuntimeError("the pipeline run failed")

    ports.store.subscribe("incoming/", trigger)
    with BadServer() as bad:
        bad.feed_paths = ["/page/ok", "/page/ok2"]
        cfg = SourcesConfig(options=fast_options(), sources=[_bad_source(bad)])
        report = crawl_into(ports.store, ports.ledger, cfg, budget_s=10, now=NOW)
        again = crawl_into(ports.store, ports.ledger, cfg, budget_s=10, now=NOW)
    assert events == [report.batch_key] and report.articles == 2
    assert again.articles == 0 and again.totals()["duplicate"] == 2


def test_a_failed_batch_write_carries_the_articles_over(ports: Ports) -> None:
    real_put = ports.store.put
    calls = {"n": 0}

    def flaky_put(key, data, **kw):  # type: ignore[no-untyped-def]
        if key.startswith("incoming/") and calls["n"] == 0:
            calls["n"] += 1
            raise OSError("disk full")
        return real_put(key, data, **kw)

    ports.store.put = flaky_put  # type: ignore[method-assign]
    with BadServer() as bad:
        bad.feed_paths = ["/page/ok", "/page/ok2"]
        cfg = SourcesConfig(options=fast_options(), sources=[_bad_source(bad)])
        first = crawl_into(ports.store, ports.ledger, cfg, budget_s=10, now=NOW)
        second = crawl_into(ports.store, ports.ledger, cfg, budget_s=10, now=NOW)
    assert first.batch_key is None and first.sources["bad"].carried_over == 2
    assert first.sources["bad"].errors["batch_write_failed"] == 2
    assert second.articles == 2 and len(batch(ports, second.batch_key)) == 2
    assert list(ports.store.list("incoming/")) == [second.batch_key]


def test_nothing_new_writes_no_batch(ports: Ports) -> None:
    report = crawl_into(ports.store, ports.ledger, SourcesConfig(), budget_s=5, now=NOW)
    assert report.batch_key is None and list(ports.store.list("incoming/")) == []
    assert recent_reports(ports.ledger)[0]["crawl_id"] == report.crawl_id
