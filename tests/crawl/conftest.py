"""Crawler test fixtures: ports in tmp dirs, fast timeouts, and a guard that keeps every
connection and name lookup of these tests on 127.0.0.0/8."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from chalicelib.crawl.sources import CrawlOptions
from chalicelib.ledger.sqlite import SqliteLedger
from chalicelib.store.local import LocalObjectStore


def _loopback(address: object) -> bool:
    if isinstance(address, tuple) and address:
        host = str(address[0])
        try:
            return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
        except ValueError:
            return host == "localhost"
    return True  # unix sockets and socketpairs stay on this machine


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def connect(self: socket.socket, address: object) -> None:
        if not _loopback(address):
            raise AssertionError(f"test tried to reach {address!r} outside 127.0.0.0/8")
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: object) -> int:
        if not _loopback(address):
            raise AssertionError(f"test tried to reach {address!r} outside 127.0.0.0/8")
        return real_connect_ex(self, address)

    def getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
        name = host.decode() if isinstance(host, bytes) else str(host)
        try:
            ipaddress.ip_address(name)
        except ValueError:
            if name not in ("localhost", "None"):
                raise OSError(f"test tried to resolve {name!r}") from None
        return real_getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@dataclass
class Ports:
    store: LocalObjectStore
    ledger: SqliteLedger
    root: Path


@pytest.fixture
def ports(tmp_path: Path) -> Ports:
    """A store and a ledger with no pipeline behind them (nothing is triggered)."""
    return Ports(LocalObjectStore(tmp_path / "store"), SqliteLedger(tmp_path / "ledger.db"),
                 tmp_path)


def fast_options(**overrides: object) -> CrawlOptions:
    """Timeouts short enough that slow and stalled servers cost a test well under a second."""
    base: dict[str, object] = dict(connect_timeout_s=1.0, read_timeout_s=0.4,
                                   request_timeout_s=1.2, max_body_bytes=256 * 1024,
                                   max_redirects=4, budget_reserve_s=0.0)
    base.update(overrides)
    return CrawlOptions(**base)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def loopback_site() -> Iterator[object]:
    """Shared by a module's tests: they compare request counts, never absolute ones."""
    from newsops.site import sample_site

    with sample_site(40, seed=3) as site:
        yield site
