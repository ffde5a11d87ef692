"""Per-host politeness: at most 1-2 requests in flight to one host, and its Crawl-delay."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class HostGate:
    """Admits requests to one host.

    Without a delay up to ``concurrency`` requests overlap. With a delay (robots.txt
    Crawl-delay or the configured minimum) requests go one at a time and the next one
    starts ``delay`` seconds after the previous one ended, which is what the directive asks.
    """

    def __init__(self, concurrency: int, delay: float = 0.0) -> None:
        self._sem = asyncio.Semaphore(concurrency)
        self._serial = asyncio.Lock()
        self.delay = delay
        self._next_start = 0.0

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        async with self._sem:
            if self.delay <= 0:
                yield
                return
            async with self._serial:
                wait = self._next_start - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                try:
                    yield
                finally:
                    self._next_start = loop.time() + self.delay


class Politeness:
    """The gates of every host of one crawl, keyed by ``host:port``."""

    def __init__(self, concurrency: int, min_delay: float = 0.0) -> None:
        self.concurrency = concurrency
        self.min_delay = min_delay
        self._gates: dict[str, HostGate] = {}

    def gate(self, netloc: str) -> HostGate:
        gate = self._gates.get(netloc)
        if gate is None:
            gate = self._gates[netloc] = HostGate(self.concurrency, self.min_delay)
        return gate

    def set_delay(self, netloc: str, delay: float) -> None:
        self.gate(netloc).delay = max(delay, self.min_delay)
