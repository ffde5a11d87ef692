"""The fetcher against real misbehaving HTTP servers on loopback."""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import Iterator

import pytest

from chalicelib.crawl.fetch import Fetched, Fetcher, FetchError
from chalicelib.crawl.robots import RobotsCache
from chalicelib.crawl.safety import system_resolver
from chalicelib.crawl.sources import CrawlOptions
from tests.crawl.conftest import fast_options
from tests.support.badserver import BadServer

LOOP1 = [ipaddress.ip_network("127.0.0.1/32")]


@pytest.fixture
def bad() -> Iterator[BadServer]:
    with BadServer() as server:
        yield server


def fetch(url: str, *, accept: str = "html", allow=LOOP1, options: CrawlOptions | None = None,
          resolver=system_resolver, headers: dict[str, str] | None = None) -> Fetched:
    async def go() -> Fetched:
        async with Fetcher(options or fast_options(), resolver) as f:
            return await f.get(url, accept=accept, allow=allow, headers=headers)  # type: ignore[arg-type]

    return asyncio.run(go())


def reason(url: str, **kw: object) -> str:
    with pytest.raises(FetchError) as e:
        fetch(url, **kw)  # type: ignore[arg-type]
    return e.value.reason


def test_ok_page_and_user_agent(bad: BadServer) -> None:
    got = fetch(bad.url("/page/ok"))
    assert got.status == 200 and b"Northwind" in got.body
    req = bad.requests[-1]
    assert req.headers["user-agent"].startswith("newsops-crawler/")
    assert req.headers["host"] == f"127.0.0.1:{bad.port}"


@pytest.mark.parametrize(("path", "expected"), [
    ("/status/404", "http_404"),
    ("/status/410", "http_410"),
    ("/status/500", "http_500"),
    ("/status/503", "http_503"),
    ("/redirect/loop-a", "redirect_loop"),
    ("/redirect/chain/0", "too_many_redirects"),
    ("/page/huge", "too_large"),
    ("/page/huge-declared", "too_large"),
    ("/page/gzip-bomb", "too_large"),
    ("/page/truncated", "truncated"),
    ("/page/image", "content_type"),
    ("/page/stall", "read_timeout"),
    ("/page/stall-body", "read_timeout"),
    ("/page/slow", "timeout"),
])
def test_bad_responses_have_reasons(bad: BadServer, path: str, expected: str) -> None:
    t = time.monotonic()
    assert reason(bad.url(path)) == expected
    assert time.monotonic() - t < 3  # every failure ends within the configured timeouts


def test_transient_failures_are_marked(bad: BadServer) -> None:
    with pytest.raises(FetchError) as e:
        fetch(bad.url("/status/503"))
    assert e.value.transient
    with pytest.raises(FetchError) as e:
        fetch(bad.url("/status/404"))
    assert not e.value.transient


def test_redirect_is_followed_and_recorded(bad: BadServer) -> None:
    got = fetch(bad.url("/page/redirected"))
    assert got.url == bad.url("/page/ok?utm_source=feed")
    assert got.redirects == [bad.url("/page/redirected")]


def test_connection_refused_is_counted() -> None:
    with BadServer() as gone:
        url = gone.url("/page/ok")
    assert reason(url) == "connect_error"


def test_refused_addresses_are_never_contacted(bad: BadServer) -> None:
    assert reason(bad.url("/page/ok"), allow=[]) == "loopback_address"
    assert bad.requests == []


def test_redirect_to_metadata_or_private_address_is_refused(bad: BadServer) -> None:
    with BadServer(address="127.0.0.2") as internal:
        bad.redirect_targets.update({
            "/redirect/to-metadata": "http://169.254.169.254/latest/meta-data/",
            "/redirect/to-private": "http://10.0.0.1/admin",
            "/redirect/to-internal": internal.url("/page/ok"),
        })
        assert reason(bad.url("/redirect/to-metadata")) == "metadata_address"
        assert reason(bad.url("/redirect/to-private")) == "private_address"
        # 127.0.0.2 is loopback too, but only 127.0.0.1/32 is allowlisted.
        assert reason(bad.url("/redirect/to-internal")) == "loopback_address"
        assert internal.requests == []


def test_dns_rebinding_cannot_redirect_the_connection(bad: BadServer) -> None:
    """The first answer is vetted and used; a second, different answer is never asked for.

    A client that checks the name and then lets the HTTP library resolve it again would
    connect to 127.0.0.2 (the 'internal service') on the second lookup.
    """
    with BadServer(address="127.0.0.2") as internal:
        assert internal.port
        answers = iter([["127.0.0.1"], ["127.0.0.2"], ["127.0.0.2"]])
        calls: list[str] = []

        async def rebinding(host: str, port: int) -> list[str]:
            calls.append(host)
            return next(answers)

        url = f"http://news.rebind.test:{bad.port}/page/ok"
        got = fetch(url, resolver=rebinding)
        assert got.status == 200
        assert calls == ["news.rebind.test"]
        assert internal.requests == []
        # Name-based virtual hosting still works: the Host header is the name, not the IP.
        assert bad.requests[-1].headers["host"] == f"news.rebind.test:{bad.port}"
        # The next request resolves again, gets the internal address, and is refused.
        assert reason(url, resolver=rebinding) == "loopback_address"
        assert internal.requests == []


def test_mixed_answers_are_refused_whole(bad: BadServer) -> None:
    async def mixed(host: str, port: int) -> list[str]:
        return ["127.0.0.1", "169.254.169.254"]

    assert reason(f"http://mixed.test:{bad.port}/page/ok", resolver=mixed) == "metadata_address"
    assert bad.requests == []


def test_conditional_headers_are_sent_only_to_the_first_url(bad: BadServer) -> None:
    fetch(bad.url("/page/redirected"), headers={"If-None-Match": '"abc"'})
    first, second = bad.requests[-2:]
    assert first.headers.get("if-none-match") == '"abc"'
    assert "if-none-match" not in second.headers


def test_robots_rules_and_crawl_delay(bad: BadServer) -> None:
    bad.robots = "User-agent: *\nDisallow: /page/stall\nCrawl-delay: 0.3\n"

    async def go() -> tuple[list[str], float]:
        async with Fetcher(fast_options(), system_resolver) as f:
            robots = RobotsCache(f)
            out = []
            for p in ("/page/stall", "/page/ok"):
                try:
                    await robots.check(bad.url(p), LOOP1, 10)
                    out.append("allowed")
                except FetchError as exc:
                    out.append(exc.reason)
            t = time.monotonic()
            for _ in range(3):
                await f.get(bad.url("/page/ok"), accept="html", allow=LOOP1)
            return out, time.monotonic() - t

    verdicts, seconds = asyncio.run(go())
    assert verdicts == ["robots_disallowed", "allowed"]
    assert seconds >= 0.6  # three requests, each 0.3 s after the previous one ended
    assert [p for p in bad.paths() if p == "/robots.txt"] == ["/robots.txt"]  # once per host


@pytest.mark.parametrize(("status", "robots", "expected"), [
    (200, None, "allowed"),  # robots.txt 404: no rules
    (503, None, "robots_unavailable"),  # 5xx: the host is off limits for this run
])
def test_robots_status_semantics(bad: BadServer, status: int, robots: str | None,
                                 expected: str) -> None:
    bad.robots, bad.robots_status = robots, status

    async def go() -> str:
        async with Fetcher(fast_options(), system_resolver) as f:
            try:
                await RobotsCache(f).check(bad.url("/page/ok"), LOOP1, 10)
            except FetchError as exc:
                assert exc.transient  # the articles stay queued
                return exc.reason
            return "allowed"

    assert asyncio.run(go()) == expected


def test_long_crawl_delay_skips_the_host(bad: BadServer) -> None:
    bad.robots = "User-agent: *\nCrawl-delay: 60\n"

    async def go() -> str:
        async with Fetcher(fast_options(), system_resolver) as f:
            try:
                await RobotsCache(f).check(bad.url("/page/ok"), LOOP1, max_delay=10)
            except FetchError as exc:
                return exc.reason
            return "allowed"

    assert asyncio.run(go()) == "crawl_delay_too_long"
