"""The source config file, the bundled site's process, and the dedup state over days."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from chalicelib.crawl.dedup import NearDuplicates, SeenIds, fingerprint
from chalicelib.crawl.feeds import parse_feed, parse_sitemap
from chalicelib.crawl.sources import DEFAULT_SOURCES_FILE, SourcesConfig, load_sources
from newsops.sample import generate
from newsops.site import DEMO_PORT, sample_site
from tests.crawl.conftest import Ports

REPO = Path(__file__).resolve().parents[2]


def test_bundled_sources_file_is_the_demo_site() -> None:
    cfg = load_sources()
    assert DEFAULT_SOURCES_FILE.name == "sources.json"
    assert len(cfg.sources) == 5 and {s.kind for s in cfg.sources} == {"feed", "sitemap"}
    for src in cfg.sources:
        assert f":{DEMO_PORT}/" in src.url
        (host,) = src.hosts
        # Each source may reach exactly its own demo address, nothing else on loopback.
        assert [str(n) for n in src.allow_networks] == [f"{cfg.static_hosts[host][0]}/32"]
    assert cfg.options.user_agent.startswith("newsops-crawler/")


@pytest.mark.parametrize("bad", [
    {"sources": [{"name": "a", "url": "ftp://x.test/feed"}]},
    {"sources": [{"name": "a", "url": "https://x.test/f"}, {"name": "a", "url": "https://y.test/f"}]},
    {"sources": [{"name": "a", "url": "https://x.test/f", "allow_networks": ["not-a-net"]}]},
    {"sources": [{"name": "a", "url": "https://x.test/f", "surprise": 1}]},
    {"options": {"per_host_concurrency": 5}},
    {"static_hosts": {"x.test": ["not-an-ip"]}},
])
def test_bad_configs_are_rejected(bad: dict) -> None:
    with pytest.raises(ValidationError):
        SourcesConfig.model_validate(bad)


def test_host_allowlist_patterns() -> None:
    cfg = SourcesConfig.model_validate({"sources": [
        {"name": "a", "url": "https://feeds.x.test/rss", "hosts": ["*.x.test", "cdn.y.test"]},
        {"name": "b", "url": "https://News.Z.test/rss"},
    ]})
    a, b = cfg.sources
    assert a.host_allowed("x.test") and a.host_allowed("www.x.test") and a.host_allowed("CDN.y.test")
    assert not a.host_allowed("evilx.test") and not a.host_allowed("y.test")
    assert b.hosts == ["news.z.test"] and b.host_allowed("news.z.test")


def test_site_serves_feeds_sitemaps_and_304(tmp_path: Path) -> None:
    with sample_site(12, seed=1) as site:
        cfg = site.sources()
        for src in cfg.sources:
            host = src.hosts[0]
            url = src.url.replace(host, cfg.static_hosts[host][0])
            r = httpx.get(url, headers={"Host": host})
            parse = parse_sitemap if src.kind == "sitemap" else parse_feed
            assert parse(r.content, src.url).entries or not site.content  # type: ignore[operator]
            again = httpx.get(url, headers={"If-None-Match": r.headers.get("etag", "-")})
            hc = next(h for h in site.content if h.site.host == host)
            assert again.status_code == (304 if hc.site.conditional else 200)
        ports = list(site.ports.values())
    # Stopped with the block: nothing listens any more.
    for port in ports[:1]:
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.2:{port}/", timeout=1)


def test_site_process_writes_its_config_and_stops_by_itself(tmp_path: Path) -> None:
    out = tmp_path / "sources.json"
    proc = subprocess.Popen([sys.executable, "-m", "newsops.site", "--port", "0",
                             "--articles", "8", "--sources-out", str(out), "--seconds", "20",
                             "--until-stdin-closes"], cwd=REPO, stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while not out.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        cfg = load_sources(out)
        assert len(cfg.sources) == 5 and json.loads(out.read_text())["static_hosts"]
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        assert proc.wait(timeout=10) == 0


def test_near_duplicates_are_remembered_for_the_window(ports: Ports) -> None:
    a, b = list(generate(2, seed=8, ja_share=0.0))
    day = date(2026, 11, 20)
    near = NearDuplicates(ports.ledger, day, days=7, bits=3)
    assert near.match("id-a", fingerprint(a.body)) is None
    assert near.match("id-b", fingerprint(b.body)) is None
    near.flush()
    copy = a.body + "\n\n(Syndicated from Harbor Ledger.)"
    later = NearDuplicates(ports.ledger, day + timedelta(days=3), days=7, bits=3)
    assert later.match("id-copy", fingerprint(copy)) == "id-a"
    assert later.match("id-a", fingerprint(a.body)) is None  # an article is not its own twin
    expired = NearDuplicates(ports.ledger, day + timedelta(days=8), days=7, bits=3)
    assert expired.match("id-copy", fingerprint(copy)) is None
    assert fingerprint("too short to fingerprint") is None


def test_seen_ids_persist_and_expire(ports: Ports) -> None:
    day = date(2026, 11, 20)
    seen = SeenIds(ports.ledger, day, keep_days=30)
    seen.add("ab" + "0" * 30)
    seen.flush()
    assert "ab" + "0" * 30 in SeenIds(ports.ledger, day + timedelta(days=30), keep_days=30)
    later = SeenIds(ports.ledger, day + timedelta(days=31), keep_days=30)
    later.add("ab" + "1" * 30)
    later.flush()  # rewriting the shard prunes what is older than the window
    assert "ab" + "0" * 30 not in SeenIds(ports.ledger, day + timedelta(days=31), keep_days=30)


def test_fingerprints_kept_by_earlier_releases_are_still_read(ports: Ports) -> None:
    """Before the per-day shards a day's fingerprints were one document keyed by the day."""
    from chalicelib.crawl.dedup import FINGERPRINT_NAMESPACE

    [a] = list(generate(1, seed=9, ja_share=0.0))
    day = date(2026, 11, 20)
    ports.ledger.put_state(FINGERPRINT_NAMESPACE, day.isoformat(),
                           {"fp": {"id-old": f"{fingerprint(a.body):016x}"}})
    near = NearDuplicates(ports.ledger, day + timedelta(days=1), days=7, bits=3)
    assert near.match("id-new", fingerprint(a.body + "\n\nUpdated.")) == "id-old"
