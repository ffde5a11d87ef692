"""robots.txt, fetched once per host and crawl through the same safe fetcher (protego parses).

Semantics follow RFC 9309: a 4xx robots.txt means no rules; a 5xx or an unreachable one
means the whole host is off limits for now (its articles stay queued for the next run).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import urlsplit

from protego import Protego

from chalicelib.crawl.fetch import Fetcher, FetchError, gate_key
from chalicelib.crawl.safety import REFUSAL_REASONS, IPNetwork

# Google reads at most 500 KiB of robots.txt; more is not a rules file.
_MAX_ROBOTS = 512 * 1024


@dataclass
class RobotsRules:
    parser: Protego | None
    unavailable: str | None = None  # why every path is refused (robots.txt unreachable)
    refused: bool = False  # the host's address itself is refused: no point retrying

    def allowed(self, url: str, agent: str) -> bool:
        if self.unavailable:
            return False
        return self.parser is None or self.parser.can_fetch(url, agent)

    def crawl_delay(self, agent: str) -> float:
        if self.parser is None:
            return 0.0
        delay = self.parser.crawl_delay(agent)
        rate = self.parser.request_rate(agent)
        from_rate = rate.seconds / rate.requests if rate and rate.requests else 0.0
        return max(float(delay or 0.0), float(from_rate))


class RobotsCache:
    def __init__(self, fetcher: Fetcher) -> None:
        self.fetcher = fetcher
        self.agent = fetcher.options.user_agent.split("/", 1)[0]
        self._rules: dict[str, RobotsRules] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def rules(self, url: str, allow: list[IPNetwork]) -> RobotsRules:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc.lower()}"
        lock = self._locks.setdefault(origin, asyncio.Lock())
        async with lock:
            found = self._rules.get(origin)
            if found is None:
                found = self._rules[origin] = await self._load(origin, allow)
                delay = found.crawl_delay(self.agent)
                if delay:
                    self.fetcher.politeness.set_delay(gate_key(url), delay)
            return found

    async def _load(self, origin: str, allow: list[IPNetwork]) -> RobotsRules:
        try:
            got = await self.fetcher.get(f"{origin}/robots.txt", accept="robots", allow=allow)
        except FetchError as exc:
            if exc.reason in ("too_large", "content_type"):
                return RobotsRules(None)
            if exc.reason in REFUSAL_REASONS:
                return RobotsRules(None, unavailable=exc.reason, refused=True)
            return RobotsRules(None, unavailable=f"robots_{exc.reason}")
        if got.status >= 500:
            return RobotsRules(None, unavailable="robots_unavailable")
        if got.status >= 400 or not got.body:
            return RobotsRules(None)
        text = got.body[:_MAX_ROBOTS].decode("utf-8", errors="replace")
        try:
            return RobotsRules(Protego.parse(text))
        except Exception:  # a rules file protego cannot read is treated as no rules
            return RobotsRules(None)

    async def check(self, url: str, allow: list[IPNetwork], max_delay: float) -> None:
        """Raise FetchError when robots.txt forbids ``url`` or asks for too long a delay."""
        rules = await self.rules(url, allow)
        if rules.unavailable:
            raise FetchError(rules.unavailable, url, transient=not rules.refused)
        if not rules.allowed(url, self.agent):
            raise FetchError("robots_disallowed", url)
        if rules.crawl_delay(self.agent) > max_delay:
            raise FetchError("crawl_delay_too_long", url, transient=True)
