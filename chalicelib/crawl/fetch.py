"""The HTTP fetcher: async httpx with every request pinned to a vetted address.

Each hop of a request (redirects are followed here, not by httpx) is checked the same way:
scheme, host allowlist, robots.txt, resolve-and-vet, then a connection to the vetted IP with
the original Host header and TLS server name. Bodies are read with a size cap, and a total
deadline ends servers that trickle bytes slowly enough to dodge the read timeout.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from chalicelib.crawl.charset import charset_param
from chalicelib.crawl.politeness import Politeness
from chalicelib.crawl.safety import IPAddress, IPNetwork, Resolver, UnsafeAddress, vetted_addresses
from chalicelib.crawl.sources import CrawlOptions

Accept = Literal["html", "feed", "robots"]
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_NOT_FEEDS = ("image/", "audio/", "video/", "font/", "application/pdf", "application/zip",
              "application/octet-stream", "application/gzip")


class FetchError(Exception):
    """A fetch that produced nothing usable; ``reason`` is the count key in the crawl report."""

    def __init__(self, reason: str, url: str, *, transient: bool = False, detail: str = "") -> None:
        super().__init__(f"{reason}: {url}{' (' + detail + ')' if detail else ''}")
        self.reason = reason
        self.url = url
        self.transient = transient


@dataclass
class Fetched:
    url: str  # after redirects
    status: int
    headers: httpx.Headers
    body: bytes
    seconds: float
    redirects: list[str] = field(default_factory=list)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    @property
    def charset(self) -> str | None:
        return charset_param(self.headers.get("content-type", ""))


# Asked before each hop: may this URL be fetched? Raises FetchError when not.
HopCheck = Callable[[str], Awaitable[None]]


def _pinned_url(url: httpx.URL, ip: IPAddress) -> httpx.URL:
    return url.copy_with(host=str(ip))


def _host_header(parts: httpx.URL) -> str:
    host = parts.host
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    default = 443 if parts.scheme == "https" else 80
    return host if parts.port in (None, default) else f"{host}:{parts.port}"


def gate_key(url: str) -> str:
    """The politeness key of a URL: its Host header value (``host[:port]``)."""
    return _host_header(httpx.URL(url))


def _content_type_ok(accept: Accept, content_type: str) -> bool:
    if accept == "html":
        return not content_type or content_type in _HTML_TYPES
    if accept == "feed":
        return not content_type.startswith(_NOT_FEEDS)
    return True


class Fetcher:
    """One per crawl: an httpx client, the per-host gates and the overall concurrency cap."""

    def __init__(
        self,
        options: CrawlOptions,
        resolver: Resolver,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self.options = options
        self._verify = verify
        self.resolver = resolver
        self.politeness = Politeness(options.per_host_concurrency, options.min_delay_s)
        self._slots = asyncio.Semaphore(options.concurrency)
        self._transport = transport
        self._clients: dict[str, httpx.AsyncClient] = {}

    def _client(self, netloc: str) -> httpx.AsyncClient:
        # One small pool per host: httpcore scans its whole pool on every request, so one
        # pool of hundreds of connections costs more CPU than the requests themselves.
        client = self._clients.get(netloc)
        if client is None:
            o = self.options
            n = o.per_host_concurrency
            client = self._clients[netloc] = httpx.AsyncClient(
                follow_redirects=False,
                timeout=httpx.Timeout(connect=o.connect_timeout_s, read=o.read_timeout_s,
                                      write=o.read_timeout_s, pool=o.request_timeout_s),
                limits=httpx.Limits(max_connections=n, max_keepalive_connections=n),
                transport=self._transport,
                verify=self._verify,
                trust_env=False,  # a proxy from the environment would bypass the address checks
                headers={"User-Agent": o.user_agent, "Accept-Encoding": "gzip, deflate"},
            )
        return client

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def get(
        self,
        url: str,
        *,
        accept: Accept,
        allow: list[IPNetwork],
        check: HopCheck | None = None,
        headers: dict[str, str] | None = None,
    ) -> Fetched:
        """GET ``url`` following redirects itself; 304 is returned, other failures raise."""
        started = time.perf_counter()
        visited: list[str] = []
        current = url
        while True:
            parts = urlsplit(current)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise FetchError("bad_url", current)
            if check is not None:
                await check(current)
            visited.append(current)
            status, resp_headers, body, location = await self._hop(current, accept, allow, headers)
            if location is None:
                return Fetched(current, status, resp_headers, body,
                               time.perf_counter() - started, visited[:-1])
            nxt = urlunsplit(urlsplit(urljoin(current, location))._replace(fragment=""))
            if nxt in visited:
                raise FetchError("redirect_loop", url, detail=" -> ".join([*visited, nxt]))
            if len(visited) > self.options.max_redirects:
                raise FetchError("too_many_redirects", url)
            current = nxt
            headers = None  # conditional headers belong to the first URL only

    async def _hop(
        self, url: str, accept: Accept, allow: list[IPNetwork], extra: dict[str, str] | None
    ) -> tuple[int, httpx.Headers, bytes, str | None]:
        try:
            target = httpx.URL(url)
        except httpx.InvalidURL as exc:
            raise FetchError("bad_url", url, detail=str(exc)) from None
        port = target.port or (443 if target.scheme == "https" else 80)
        try:
            addresses = await vetted_addresses(target.host, port, self.resolver, allow)
        except UnsafeAddress as exc:
            raise FetchError(exc.reason, url, transient=exc.reason == "dns_error",
                             detail=str(exc)) from None
        netloc = _host_header(target)
        req_headers = {"Host": netloc, **(extra or {})}
        ext = {"sni_hostname": target.host} if target.scheme == "https" else {}
        # The host gate first: a task queued behind a busy host must not hold a global slot.
        async with self.politeness.gate(netloc).slot(), self._slots:
            try:
                async with asyncio.timeout(self.options.request_timeout_s):
                    return await self._send(self._client(netloc), url, target, addresses,
                                            req_headers, ext, accept)
            except TimeoutError:
                raise FetchError("timeout", url, transient=True) from None

    async def _send(
        self,
        client: httpx.AsyncClient,
        url: str,
        target: httpx.URL,
        addresses: list[IPAddress],
        headers: dict[str, str],
        ext: dict[str, str],
        accept: Accept,
    ) -> tuple[int, httpx.Headers, bytes, str | None]:
        last: Exception | None = None
        for ip in addresses:
            # The connection goes to this vetted address; the name is never resolved again.
            request = client.build_request("GET", _pinned_url(target, ip), headers=headers,
                                           extensions=ext)
            try:
                resp = await client.send(request, stream=True)
            except httpx.ConnectError as exc:
                if _is_tls(exc):
                    raise FetchError("tls_error", url, detail=str(exc)) from None
                last = exc
                continue
            except httpx.TimeoutException as exc:
                raise FetchError(_timeout_reason(exc), url, transient=True) from None
            except httpx.HTTPError as exc:
                raise FetchError("protocol_error", url, transient=True,
                                 detail=type(exc).__name__) from None
            try:
                return await self._read(url, resp, accept)
            finally:
                await resp.aclose()
        raise FetchError("connect_error", url, transient=True, detail=str(last))

    async def _read(
        self, url: str, resp: httpx.Response, accept: Accept
    ) -> tuple[int, httpx.Headers, bytes, str | None]:
        status = resp.status_code
        if status in _REDIRECTS:
            location = resp.headers.get("location")
            if not location:
                raise FetchError("redirect_without_location", url)
            return status, resp.headers, b"", location
        if status == 304:
            return status, resp.headers, b"", None
        if status >= 400 or status < 200:
            transient = status >= 500 or status in (408, 429)
            if accept == "robots":
                return status, resp.headers, b"", None
            raise FetchError(f"http_{status}", url, transient=transient)
        ctype = resp.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if not _content_type_ok(accept, ctype):
            raise FetchError("content_type", url, detail=ctype)
        limit = self.options.max_body_bytes
        declared = resp.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise FetchError("too_large", url, detail=f"content-length {declared}")
        buf = bytearray()
        try:
            async for chunk in resp.aiter_bytes():
                buf += chunk
                if len(buf) > limit:
                    raise FetchError("too_large", url, detail=f"over {limit} bytes")
        except httpx.TimeoutException as exc:
            raise FetchError(_timeout_reason(exc), url, transient=True) from None
        except httpx.DecodingError:
            raise FetchError("decoding_error", url) from None
        except httpx.HTTPError as exc:
            # A body cut short (Content-Length not reached, chunked stream not ended).
            raise FetchError("truncated", url, transient=True, detail=type(exc).__name__) from None
        if accept == "html" and not ctype and not bytes(buf[:512]).lstrip().startswith(b"<"):
            raise FetchError("content_type", url, detail="no content-type, not markup")
        return status, resp.headers, bytes(buf), None


def _is_tls(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _timeout_reason(exc: httpx.TimeoutException) -> str:
    if isinstance(exc, httpx.ConnectTimeout):
        return "connect_timeout"
    if isinstance(exc, httpx.PoolTimeout):
        return "timeout"
    return "read_timeout"

