"""Real HTTP servers on 127.0.0.x that misbehave on purpose, for the crawler's bad-input tests.

Responses are written as raw bytes on the socket so that a server can lie (wrong charset,
short body, endless body) or stall. Every server stops by itself: handlers wait on a stop
event with a short ceiling, and endless bodies end when the client hangs up or at a cap.

    with BadServer() as bad:
        url = bad.url("/status/500")
"""

from __future__ import annotations

import socket
import socketserver
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

ARTICLE_TEXT = (
    "Northwind Holdings said on Tuesday that quarterly revenue rose 12% to $4.1 billion, "
    "helped by steady demand for its logistics software and a recovery in freight volumes. "
    "The company raised its forecast for the full year and said it would buy back shares. "
    "Analysts had expected slower growth after a weak start to the year, but management "
    "said orders from large retailers picked up in the final weeks of the quarter. "
)
# Distinct stories, so that pages of one test are not near-duplicates of each other.
OTHER_TEXTS = (
    "Bluefin Analytics agreed to buy a rival data provider for $900 million in cash, adding "
    "hospital and insurer customers to its software business. Regulators in two countries must "
    "approve the deal, which the companies expect to close in the spring. Bluefin said the "
    "purchase would add to earnings within a year and that no jobs would be cut. ",
    "Castleton Energy will build a 400-megawatt solar farm with battery storage in the desert, "
    "its largest renewable project so far. Construction starts next month and the plant should "
    "feed the grid by late 2028. The utility also said it would retire two coal units early. ",
    "Dockworkers at three ports walked off the job on Monday after talks on pay and automation "
    "broke down, halting container traffic. Shipping lines diverted vessels to other harbours, "
    "and retailers warned that store shelves could thin out before the holidays. ",
    "Meridian Bank reported a jump in bad loans to small businesses and set aside more money "
    "for credit losses, sending its shares down 6%. The lender said deposits were stable and its "
    "capital ratios remained well above what regulators require. ",
)
JA_TEXT = (
    "東和電機株式会社は十四日、二〇二六年九月期の連結純利益が前期比一二％増の四百億円になったと"
    "発表した。データセンター向けの電源装置が好調で、通期の業績予想も上方修正した。"
    "同社は自社株買いも実施する方針を示しており、市場では前向きな受け止めが広がっている。"
) * 2


def page(title: str, text: str, *, charset_meta: str | None = "utf-8", lang: str = "en") -> str:
    meta = f'<meta charset="{charset_meta}">' if charset_meta else ""
    paras = "".join(f"<p>{text}</p>" for _ in range(3))
    return (f'<!DOCTYPE html><html lang="{lang}"><head>{meta}<title>{title}</title></head>'
            f"<body><article><h1>{title}</h1>{paras}</article></body></html>")


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]


Behaviour = Callable[["_Conn", Request], None]


class _Conn:
    def __init__(self, sock: socket.socket, server: BadServer) -> None:
        self.sock = sock
        self.server = server

    def send(self, data: bytes) -> bool:
        try:
            self.sock.sendall(data)
            return True
        except OSError:
            return False

    def respond(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None,
                *, reason: str = "X", length: int | None = None) -> None:
        hdrs = {"Content-Length": str(len(body) if length is None else length),
                "Connection": "close", **(headers or {})}
        head = f"HTTP/1.1 {status} {reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hdrs.items())
        self.send(head.encode("latin-1") + b"\r\n" + body)

    def wait(self, seconds: float) -> bool:
        """Sleep unless the server is stopping; False when it is."""
        return not self.server.stopping.wait(seconds)


def _html(body: bytes | str, charset: str | None = "utf-8") -> tuple[bytes, dict[str, str]]:
    data = body.encode("utf-8") if isinstance(body, str) else body
    ctype = f"text/html; charset={charset}" if charset else "text/html"
    return data, {"Content-Type": ctype}


def _ok(c: _Conn, r: Request) -> None:
    c.respond(200, *_html(page("Quarterly revenue rises at Northwind", ARTICLE_TEXT)))


def _misdeclared(c: _Conn, r: Request) -> None:
    # Says UTF-8, is Shift_JIS (and says so in <meta>, as many Japanese sites do).
    body = page("東和電機、純利益12％増", JA_TEXT, charset_meta="shift_jis", lang="ja")
    c.respond(200, body.encode("shift_jis"), {"Content-Type": "text/html; charset=utf-8"})


def _latin1_as_utf8_header(c: _Conn, r: Request) -> None:
    # Says ISO-8859-1, is UTF-8: a strict ISO-8859-1 decode "works" and yields mojibake.
    body = page("Café Société rallies", OTHER_TEXTS[0] + " Café, crème brûlée, naïve façade. ")
    c.respond(200, body.encode("utf-8"), {"Content-Type": "text/html; charset=iso-8859-1"})


def _nocharset(c: _Conn, r: Request) -> None:
    body = page("Société Générale: café prices", OTHER_TEXTS[1] + " Prix du café élevé à Genève.",
                charset_meta=None)
    c.respond(200, body.encode("cp1252"), {"Content-Type": "text/html"})


def _invalid_utf8(c: _Conn, r: Request) -> None:
    good = page("Dockworkers strike", OTHER_TEXTS[2]).encode()
    i = good.index(b"walked off")
    c.respond(200, good[:i] + b"\xff\xfe\xc3" + good[i:], {"Content-Type": "text/html; charset=utf-8"})


def _binary(c: _Conn, r: Request) -> None:
    import random

    rnd = random.Random(5)
    c.respond(200, bytes(rnd.getrandbits(8) for _ in range(20_000)),
              {"Content-Type": "text/html; charset=utf-8"})


def _huge(c: _Conn, r: Request) -> None:
    head = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    if not c.send(head.encode()):
        return
    chunk = b"<p>" + b"x" * 65_530 + b"</p>"
    frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    for _ in range(2048):  # at most ~128 MiB; the client hangs up long before
        if c.server.stopping.is_set() or not c.send(frame):
            return


def _huge_declared(c: _Conn, r: Request) -> None:
    c.respond(200, b"<html>", {"Content-Type": "text/html"}, length=10**10)


@cache
def _bomb() -> bytes:
    # 10 MiB of zeros compress to ~10 KiB: what a decompression bomb looks like.
    comp = zlib.compressobj(1, zlib.DEFLATED, 31)
    return comp.compress(b"\0" * (10 * 1024 * 1024)) + comp.flush()


def _gzip_bomb(c: _Conn, r: Request) -> None:
    c.respond(200, c.server.bomb, {"Content-Type": "text/html", "Content-Encoding": "gzip"})


def _truncated_body(c: _Conn, r: Request) -> None:
    body = page("Cut short", ARTICLE_TEXT).encode()
    c.respond(200, body[: len(body) // 2], {"Content-Type": "text/html; charset=utf-8"},
              length=len(body))


def _slow(c: _Conn, r: Request) -> None:
    body = page("Slow", ARTICLE_TEXT).encode()
    head = f"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {len(body)}\r\n\r\n"
    if not c.send(head.encode()):
        return
    for i in range(len(body)):  # one byte per 0.1 s: never idle long enough for a read timeout
        if not c.wait(0.1) or not c.send(body[i : i + 1]):
            return


def _stall(c: _Conn, r: Request) -> None:
    c.wait(10)


def _stall_body(c: _Conn, r: Request) -> None:
    c.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5000\r\n\r\n<html>")
    c.wait(10)


def _image(c: _Conn, r: Request) -> None:
    c.respond(200, b"\x89PNG\r\n\x1a\n" + b"\0" * 100, {"Content-Type": "image/png"})


def _status(c: _Conn, r: Request) -> None:
    code = int(r.path.rsplit("/", 1)[1])
    c.respond(code, f"status {code}\n".encode(), {"Content-Type": "text/plain"})


def _loop_a(c: _Conn, r: Request) -> None:
    c.respond(302, headers={"Location": "/redirect/loop-b"})


def _loop_b(c: _Conn, r: Request) -> None:
    c.respond(301, headers={"Location": "/redirect/loop-a"})


def _chain(c: _Conn, r: Request) -> None:
    n = int(r.path.rsplit("/", 1)[1])
    c.respond(302, headers={"Location": f"/redirect/chain/{n + 1}"})


def _to(c: _Conn, r: Request) -> None:
    c.respond(302, headers={"Location": c.server.redirect_targets[r.path]})


def _to_ok(c: _Conn, r: Request) -> None:
    c.respond(301, headers={"Location": "/page/ok?utm_source=feed"})


def _robots(c: _Conn, r: Request) -> None:
    if c.server.robots_status != 200:
        c.respond(c.server.robots_status, b"robots error\n", {"Content-Type": "text/plain"})
    elif c.server.robots is None:
        c.respond(404, b"none\n", {"Content-Type": "text/plain"})
    else:
        c.respond(200, c.server.robots.encode(), {"Content-Type": "text/plain"})


def _rss(items: list[tuple[str, str]]) -> str:
    entries = "".join(
        f"<item><title>{t}</title><link>{link}</link><description>{t}: feed summary of the "
        f"story, long enough to stand in for the article when the page has no text of its own, "
        f"which happens with paywalls and script-only pages.</description></item>"
        for t, link in items
    )
    return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Bad</title>'
            f"<link>/</link><description>bad</description>{entries}</channel></rss>")


def _feed(c: _Conn, r: Request) -> None:
    items = [(p.rsplit("/", 1)[-1], c.server.url(p)) for p in c.server.feed_paths]
    body = _rss(items).encode()
    c.respond(200, body, {"Content-Type": "application/rss+xml; charset=utf-8"})


def _feed_malformed(c: _Conn, r: Request) -> None:
    c.respond(200, b"<?xml version='1.0'?><rss><channel><title>oops</tit<item>&&&",
              {"Content-Type": "application/rss+xml"})


def _feed_truncated(c: _Conn, r: Request) -> None:
    full = _rss([("one", c.server.url("/page/ok")), ("two", c.server.url("/page/ok2")),
                 ("three", c.server.url("/page/ok3"))]).encode()
    cut = full[: full.index(b"<item><title>three") + 30]
    c.respond(200, cut, {"Content-Type": "application/rss+xml"})


def _feed_html(c: _Conn, r: Request) -> None:
    c.respond(200, *_html("<html><body><p>We moved our feed.</p></body></html>"))


def _ok_n(c: _Conn, r: Request) -> None:
    n = int(r.path.rsplit("ok", 1)[1])
    c.respond(200, *_html(page(f"Story {n}", OTHER_TEXTS[n])))


def _empty_page(c: _Conn, r: Request) -> None:
    c.respond(200, *_html("<html><body><script>app()</script></body></html>"))


ROUTES: dict[str, Behaviour] = {
    "/robots.txt": _robots,
    "/feed": _feed,
    "/feed/malformed": _feed_malformed,
    "/feed/truncated": _feed_truncated,
    "/feed/html": _feed_html,
    "/page/ok": _ok,
    "/page/ok2": _ok_n,
    "/page/ok3": _ok_n,
    "/page/misdeclared-charset": _misdeclared,
    "/page/utf8-declared-latin1": _latin1_as_utf8_header,
    "/page/no-charset": _nocharset,
    "/page/invalid-utf8": _invalid_utf8,
    "/page/binary": _binary,
    "/page/huge": _huge,
    "/page/huge-declared": _huge_declared,
    "/page/gzip-bomb": _gzip_bomb,
    "/page/truncated": _truncated_body,
    "/page/slow": _slow,
    "/page/stall": _stall,
    "/page/stall-body": _stall_body,
    "/page/image": _image,
    "/page/empty": _empty_page,
    "/page/redirected": _to_ok,
    "/redirect/loop-a": _loop_a,
    "/redirect/loop-b": _loop_b,
    "/redirect/to-metadata": _to,
    "/redirect/to-private": _to,
    "/redirect/to-internal": _to,
}


class _Handler(socketserver.BaseRequestHandler):
    server: _TCPServer

    def handle(self) -> None:
        bad = self.server.bad
        sock: socket.socket = self.request
        sock.settimeout(5)
        data = b""
        try:
            while b"\r\n\r\n" not in data and len(data) < 65_536:
                got = sock.recv(4096)
                if not got:
                    return
                data += got
        except OSError:
            return
        head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
        method, target, _ = (head[0].split(" ") + ["", ""])[:3]
        headers = {}
        for line in head[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        path = target.split("?", 1)[0]
        req = Request(method, path, headers)
        with bad.lock:
            bad.requests.append(req)
        route = ROUTES.get(path) or (_status if path.startswith("/status/") else None) or (
            _chain if path.startswith("/redirect/chain/") else None)
        conn = _Conn(sock, bad)
        if route is None:
            conn.respond(404, b"not found\n", {"Content-Type": "text/plain"})
        else:
            route(conn, req)


class _TCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], bad: BadServer) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)
        self.bad = bad


@dataclass
class BadServer:
    """One misbehaving host. ``feed_paths`` are listed by ``/feed``."""

    address: str = "127.0.0.1"
    robots: str | None = None  # None: robots.txt is a 404 (no rules)
    robots_status: int = 200  # e.g. 503: robots.txt unavailable
    feed_paths: list[str] = field(default_factory=list)
    redirect_targets: dict[str, str] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.bomb = _bomb()
        self._srv: _TCPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        assert self._srv is not None
        return int(self._srv.server_address[1])

    def url(self, path: str) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"http://{host}:{self.port}{path}"

    def paths(self) -> list[str]:
        with self.lock:
            return [r.path for r in self.requests]

    def __enter__(self) -> BadServer:
        self._srv = _TCPServer((self.address, 0), self)
        self._thread = threading.Thread(target=self._srv.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True,
                                        name=f"badserver-{self.address}")
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        if self._srv is not None:
            self._srv.shutdown()
            self._srv.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        time.sleep(0)  # let handler threads see the stop event
