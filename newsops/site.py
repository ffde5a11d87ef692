"""The bundled sample news site over real HTTP: one server per outlet, each on its own 127.0.0.x.

    with sample_site(articles=60) as site:
        report = crawl(rt, site.sources(), budget_s=120)

``python -m newsops.site`` serves the demo layout on the fixed port of the bundled
``chalicelib/config/sources.json`` until interrupted, for ``newsops crawl`` by hand.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from chalicelib.contract import keys
from chalicelib.crawl.sources import CrawlOptions, SourcesConfig, SourceSpec
from newsops.sitegen import (
    HostContent,
    Page,
    Published,
    build_pages,
    feed_url,
    layout_bench,
    layout_demo,
    public_urls,
)

DEMO_PORT = 8480


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], content: HostContent, latency_s: float) -> None:
        super().__init__(address, _Handler)
        self.content = content
        self.latency_s = latency_s
        self.pages: dict[str, Page] = {}
        self.requests: list[str] = []  # paths asked for, in order (tests count fetches)
        self.times: list[tuple[float, float]] = []  # (start, end) of each request
        self.in_flight = 0
        self.max_in_flight = 0  # what politeness tests check
        self.lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, the body waits for the
    # client's delayed ACK (~40 ms), which would swamp the latency the benchmark sets.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - base signature
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        srv = self.server
        start = time.monotonic()
        with srv.lock:
            srv.requests.append(urlsplit(self.path).path)
            srv.in_flight += 1
            srv.max_in_flight = max(srv.max_in_flight, srv.in_flight)
        try:
            self._get()
        finally:
            with srv.lock:
                srv.in_flight -= 1
                srv.times.append((start, time.monotonic()))

    def _get(self) -> None:
        srv = self.server
        path = urlsplit(self.path).path
        if srv.latency_s:
            time.sleep(srv.latency_s)
        page = srv.pages.get(path)
        if page is None:
            self._send(404, "text/plain", b"not found\n")
            return
        feedish = page.last_modified is not None
        if feedish and srv.content.site.conditional and self._not_modified(page):
            self.send_response(304)
            self.send_header("ETag", page.etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        extra = {"ETag": page.etag}
        if page.last_modified and srv.content.site.conditional:
            extra["Last-Modified"] = page.last_modified
        if not srv.content.site.conditional:
            extra = {}
        self._send(200, page.content_type, page.body, extra)

    def _not_modified(self, page: Page) -> bool:
        inm = self.headers.get("If-None-Match")
        if inm is not None:
            return page.etag in [t.strip() for t in inm.split(",")] or inm.strip() == "*"
        ims = self.headers.get("If-Modified-Since")
        if ims and page.last_modified:
            try:
                return parsedate_to_datetime(page.last_modified) <= parsedate_to_datetime(ims)
            except (TypeError, ValueError):
                return False
        return False

    def _send(self, status: int, ctype: str, body: bytes, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)


class SampleSite:
    """Running servers for a layout; ``publish`` reveals more articles, like a live site."""

    def __init__(self, content: list[HostContent], *, port: int = 0, latency_s: float = 0.0,
                 visible: int | None = None) -> None:
        self.content = content
        self.port = port
        self.latency_s = latency_s
        self.visible = visible
        self.servers: dict[str, _Server] = {}
        self._threads: list[threading.Thread] = []

    def start(self) -> SampleSite:
        try:
            for hc in self.content:
                srv = _Server((hc.site.address, self.port), hc, self.latency_s)
                self.servers[hc.site.host] = srv
                t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05},
                                     name=f"site-{hc.site.host}", daemon=True)
                t.start()
                self._threads.append(t)
            self._render()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for srv in self.servers.values():
            srv.shutdown()
            srv.server_close()
        for t in self._threads:
            t.join(timeout=5)
        self._threads.clear()

    def __enter__(self) -> SampleSite:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _render(self) -> None:
        for host, srv in self.servers.items():
            srv.pages = build_pages(srv.content, self.ports[host], visible=self.visible)

    def publish(self, more: int) -> None:
        """Show ``more`` further articles per host (new feed, new ETag)."""
        base = self.visible if self.visible is not None else max(
            len(hc.articles) for hc in self.content)
        self.visible = base + more
        self._render()

    @property
    def ports(self) -> dict[str, int]:
        return {host: srv.server_address[1] for host, srv in self.servers.items()}

    def requests(self, host: str | None = None) -> list[str]:
        hosts = [host] if host else list(self.servers)
        out: list[str] = []
        for h in hosts:
            with self.servers[h].lock:
                out.extend(self.servers[h].requests)
        return out

    def truth(self) -> dict[str, Published]:
        """Canonical article URL -> what was published there (visible or not)."""
        return {keys.canonical_url(u): p for u, p in public_urls(self.content, self.ports).items()}

    def sources(self, *, max_articles: int = 100, options: CrawlOptions | None = None
                ) -> SourcesConfig:
        """The crawl config for this site: its feeds, its static addresses, its loopback allowlist."""
        specs = []
        for hc in self.content:
            s = hc.site
            specs.append(SourceSpec(
                name=s.name,
                url=feed_url(s, self.ports[s.host]),
                kind="sitemap" if s.feed == "sitemap" else "feed",
                language=s.language,
                max_articles=max_articles,
                hosts=[s.host],
                # The demo site lives on loopback: allowlisted explicitly, and only it.
                allow_networks=[f"{s.address}/32"],  # type: ignore[list-item]
            ))
        return SourcesConfig(
            options=options or CrawlOptions(),
            sources=specs,
            static_hosts={hc.site.host: [hc.site.address] for hc in self.content},
        )


@contextmanager
def sample_site(articles: int = 60, *, seed: int = 7, port: int = 0, latency_s: float = 0.0,
                visible: int | None = None, syndicated: int = 2) -> Iterator[SampleSite]:
    """The demo outlets with ``articles`` sample articles, served until the block ends."""
    site = SampleSite(layout_demo(articles, seed=seed, syndicated=syndicated), port=port,
                      latency_s=latency_s, visible=visible)
    with site:
        yield site


@contextmanager
def bench_site(hosts: int = 20, per_host: int = 50, *, latency_s: float = 0.05,
               seed: int = 11) -> Iterator[SampleSite]:
    site = SampleSite(layout_bench(hosts, per_host, seed=seed), latency_s=latency_s)
    with site:
        yield site


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m newsops.site",
                                     description="Serve the bundled sample news site.")
    parser.add_argument("--articles", type=int, default=60)
    parser.add_argument("--port", type=int, default=DEMO_PORT, help="0: a free port per host")
    parser.add_argument("--bench", metavar="HOSTSxPAGES", default="",
                        help="serve the benchmark layout instead, e.g. 20x50")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per request")
    parser.add_argument("--sources-out", type=Path, default=None,
                        help="write the crawl config for the running site to this file")
    parser.add_argument("--seconds", type=float, default=0, help="stop after this long (0: never)")
    parser.add_argument("--until-stdin-closes", action="store_true",
                        help="stop when standard input closes (a parent process ends)")
    args = parser.parse_args(argv)
    if args.bench:
        hosts, per_host = (int(x) for x in args.bench.lower().split("x"))
        content = layout_bench(hosts, per_host)
    else:
        content = layout_demo(args.articles, seed=7)
    site = SampleSite(content, port=args.port, latency_s=args.latency)
    with site:
        config = site.sources()
        if args.sources_out:
            tmp = args.sources_out.with_suffix(".tmp")
            tmp.write_text(config.model_dump_json(indent=2, by_alias=True))
            tmp.replace(args.sources_out)  # readers never see a half-written file
        for src in config.sources:
            print(f"{src.name}: {src.url}", flush=True)
        stop = threading.Event()
        if args.until_stdin_closes:
            threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
        try:
            stop.wait(args.seconds or None)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
