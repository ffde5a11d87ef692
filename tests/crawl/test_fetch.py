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
    assert time.monotonic() - t < 5  # every failure ends within the configured timeouts


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


def _tls_server(host: str, tmp_path):  # type: ignore[no-untyped-def]
    """An HTTPS server on 127.0.0.1 with a certificate for ``host`` only, and a client
    context that trusts it."""
    import datetime
    import ssl
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    (tmp_path / "cert.pem").write_bytes(cert_pem)
    (tmp_path / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            seen.append(self.headers.get("Host", ""))
            body = b"<html><body><p>secure</p></body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.socket = server_ctx.wrap_socket(srv.socket, server_side=True)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    client_ctx = ssl.create_default_context(cadata=cert_pem.decode())
    return srv, thread, client_ctx, seen


def test_https_to_a_pinned_address_verifies_the_name(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """TLS goes to the vetted IP, yet SNI and certificate checks use the host name."""
    srv, thread, ctx, seen = _tls_server("secure.news.test", tmp_path)
    port = srv.server_address[1]

    async def resolve(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    async def go(url: str) -> Fetched:
        async with Fetcher(fast_options(), resolve, verify=ctx) as f:
            return await f.get(url, accept="html", allow=LOOP1)

    try:
        got = asyncio.run(go(f"https://secure.news.test:{port}/a"))
        assert got.status == 200 and b"secure" in got.body
        assert seen == [f"secure.news.test:{port}"]
        # A name the certificate does not cover fails verification, even at the same address.
        with pytest.raises(FetchError) as e:
            asyncio.run(go(f"https://other.news.test:{port}/a"))
        assert e.value.reason == "tls_error" and not e.value.transient
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


def test_ipv6_literal_is_vetted_and_pinned() -> None:
    with BadServer(address="::1") as bad6:
        got = fetch(bad6.url("/page/ok"), allow=[ipaddress.ip_network("::1/128")])
        assert got.status == 200
        assert bad6.requests[-1].headers["host"] == f"[::1]:{bad6.port}"
        assert reason(bad6.url("/page/ok")) == "loopback_address"
