"""One crawl run: feeds -> new article URLs -> pages -> raw archive -> extraction -> one batch.

Called by the scheduled handler with a time budget (a Lambda lives 15 minutes at most).
Whatever is not fetched when the budget runs out stays in the source's pending list for the
next run. The batch is written in one PUT at the end; only after it is published are the
articles marked as seen, so a crash can repeat an article but never lose one.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import gzip
import itertools
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
from pydantic import ValidationError

from chalicelib import jsonl
from chalicelib.clock import SYSTEM_CLOCK, Clock
from chalicelib.contract import keys
from chalicelib.contract.schema import Article, describe_errors
from chalicelib.crawl.charset import Undecodable
from chalicelib.crawl.dedup import NearDuplicates, SeenIds, fingerprint
from chalicelib.crawl.extract import Extracted, ExtractionFailed, extract_article
from chalicelib.crawl.feeds import Discovery, Entry, FeedError, parse_feed, parse_sitemap
from chalicelib.crawl.fetch import Fetched, Fetcher, FetchError
from chalicelib.crawl.report import CrawlReport, SourceReport, save_report
from chalicelib.crawl.robots import RobotsCache
from chalicelib.crawl.safety import Resolver, static_resolver, system_resolver
from chalicelib.crawl.sources import SourcesConfig, SourceSpec
from chalicelib.crawl.state import Pending, SourceState, load_state, save_state
from chalicelib.ledger.base import Ledger
from chalicelib.store.base import ObjectStore

log = logging.getLogger("newsops.crawl")

# Children of a sitemap index fetched per run; the rest of a huge index waits.
_MAX_CHILD_SITEMAPS = 3


@dataclass
class _Carry:
    """What a run hands to the next: per source, the items still to fetch."""

    items: dict[str, list[Pending]] = field(default_factory=dict)

    def add(self, source: str, item: Pending) -> None:
        self.items.setdefault(source, []).append(item)


@dataclass
class _Emitted:
    record: dict[str, Any]
    item: Pending
    source: str
    ids: tuple[str, ...]
    fingerprint: int | None


class _Crawl:
    def __init__(
        self,
        store: ObjectStore,
        ledger: Ledger,
        config: SourcesConfig,
        *,
        budget_s: float,
        now: datetime,
        resolver: Resolver,
        transport: httpx.AsyncBaseTransport | None,
    ) -> None:
        self.store = store
        self.ledger = ledger
        self.config = config
        self.options = config.options
        self.budget_s = budget_s
        self.now = now
        self.resolver = resolver
        self.transport = transport
        self.crawl_id = f"crawl-{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
        self.report = CrawlReport(self.crawl_id, now.isoformat(), budget_s)
        self.states: dict[str, SourceState] = {}
        self.validators: dict[str, tuple[str | None, str | None]] = {}
        self.carry = _Carry()
        self.emitted: list[_Emitted] = []
        self.emitted_ids: set[str] = set()
        self.also_seen: set[str] = set()  # judged duplicates: never fetched again
        self.queued_ids: set[str] = set()
        self._spans: dict[str, list[float]] = {}
        self.seen = SeenIds(ledger, now.date(), self.options.seen_days)
        self.near = NearDuplicates(ledger, now.date(), self.options.near_duplicate_days,
                                   self.options.near_duplicate_bits)

    # ---- time ----------------------------------------------------------------------------

    def _remaining(self) -> float:
        return self.deadline - time.monotonic()

    def _span(self, source: str, start: float) -> None:
        s = self._spans.setdefault(source, [start, start])
        s[0] = min(s[0], start)
        s[1] = max(s[1], time.monotonic())

    # ---- the run -------------------------------------------------------------------------

    async def run(self) -> None:
        self.started = time.monotonic()
        reserve = min(self.options.budget_reserve_s, self.budget_s * 0.25)
        self.deadline = self.started + self.budget_s - reserve
        sources = self.config.enabled()
        for src in sources:
            self.states[src.name] = load_state(self.ledger, src.name)
            self.report.source(src.name)
        # Extraction is CPU work: off the event loop, so timeouts and politeness stay exact.
        self.pool = concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="extract")
        try:
            async with Fetcher(self.options, self.resolver, transport=self.transport) as fetcher:
                self.fetcher = fetcher
                self.robots = RobotsCache(fetcher)
                found = await self._discover_all(sources)
                work = self._plan(sources, found)
                await self._fetch_all(work)
        finally:
            self.pool.shutdown(wait=False, cancel_futures=True)
        for name, (a, b) in self._spans.items():
            self.report.source(name).seconds = b - a

    async def _discover_all(self, sources: list[SourceSpec]) -> dict[str, list[Entry] | None]:
        tasks = {src.name: asyncio.create_task(self._discover(src)) for src in sources}
        if not tasks:
            return {}
        done, late = await asyncio.wait(tasks.values(), timeout=max(self._remaining(), 0))
        for t in late:
            t.cancel()
        await asyncio.gather(*late, return_exceptions=True)
        found: dict[str, list[Entry] | None] = {}
        for name, t in tasks.items():
            if t in late:
                self.report.source(name).errors["out_of_budget"] += 1
                self.report.out_of_budget = True
                found[name] = None
            else:
                found[name] = t.result()
        return found

    def _feed_check(self, src: SourceSpec) -> Callable[[str], Any]:
        feed_host = (urlsplit(src.url).hostname or "").lower()

        async def check(url: str) -> None:
            host = (urlsplit(url).hostname or "").lower()
            if host != feed_host and not src.host_allowed(host):
                raise FetchError("host_not_allowed", url)
            await self.robots.check(url, src.allow_networks, self.options.max_crawl_delay_s)

        return check

    async def _discover(self, src: SourceSpec) -> list[Entry] | None:
        rep = self.report.source(src.name)
        state = self.states[src.name]
        headers: dict[str, str] = {}
        if state.feed_url == src.url:
            if state.etag:
                headers["If-None-Match"] = state.etag
            if state.last_modified:
                headers["If-Modified-Since"] = state.last_modified
        start = time.monotonic()
        try:
            got = await self.fetcher.get(src.url, accept="feed", allow=src.allow_networks,
                                         check=self._feed_check(src), headers=headers)
        except FetchError as exc:
            rep.count(exc.reason)
            log.warning("crawl %s: feed %s", src.name, exc)
            return None
        finally:
            self._span(src.name, start)
        if got.status == 304:
            rep.not_modified += 1
            return []
        rep.fetched += 1
        rep.bytes += len(got.body)
        disc = await self._parse(src, got)
        if disc is None:
            return None
        entries = list(disc.entries)
        for child in disc.sitemaps[:_MAX_CHILD_SITEMAPS]:
            try:
                sub = await self.fetcher.get(child, accept="feed", allow=src.allow_networks,
                                             check=self._feed_check(src))
            except FetchError as exc:
                rep.count(exc.reason)
                continue
            rep.fetched += 1
            rep.bytes += len(sub.body)
            more = await self._parse(src, sub)
            if more is not None:
                entries.extend(more.entries)
        self.validators[src.name] = (got.headers.get("etag"), got.headers.get("last-modified"))
        rep.discovered += len(entries)
        return entries

    async def _parse(self, src: SourceSpec, got: Fetched) -> Discovery | None:
        rep = self.report.source(src.name)
        loop = asyncio.get_running_loop()
        try:
            if src.kind == "sitemap":
                disc = await loop.run_in_executor(self.pool, parse_sitemap, got.body, got.url)
            else:
                disc = await loop.run_in_executor(self.pool, parse_feed, got.body, got.url,
                                                  got.headers.get("content-type", ""))
        except FeedError as exc:
            rep.count(exc.reason)
            log.warning("crawl %s: %s unreadable: %s", src.name, got.url, exc)
            return None
        if disc.partial:
            # Truncated or malformed, but some entries were readable: use them, count it.
            rep.notes["feed_partial"] += 1
        return disc

    def _plan(self, sources: list[SourceSpec], found: dict[str, list[Entry] | None]
              ) -> list[tuple[SourceSpec, Pending]]:
        """This run's fetches: carried-over items first, then new ones, up to max_articles."""
        work: list[tuple[SourceSpec, Pending]] = []
        for src in sources:
            rep = self.report.source(src.name)
            queue: list[Pending] = []
            for item in self.states[src.name].pending:
                aid = keys.article_id(item.url)
                if aid in self.seen or aid in self.queued_ids:
                    continue
                self.queued_ids.add(aid)
                queue.append(item)
            for entry in found.get(src.name) or []:
                aid = keys.article_id(entry.url)
                if aid in self.queued_ids:
                    continue  # listed twice, or already carried over
                if aid in self.seen:
                    rep.duplicate += 1
                    continue
                self.queued_ids.add(aid)
                queue.append(Pending.of(entry))
            take = queue[: src.max_articles]
            work.extend((src, item) for item in take)
            for item in queue[src.max_articles:]:
                self.carry.add(src.name, item)
        return work

    async def _fetch_all(self, work: list[tuple[SourceSpec, Pending]]) -> None:
        # Round-robin over sources, so that every host gets going at once.
        by_source: dict[str, list[tuple[SourceSpec, Pending]]] = {}
        for src, item in work:
            by_source.setdefault(src.name, []).append((src, item))
        order = [w for group in itertools.zip_longest(*by_source.values()) for w in group if w]
        tasks = {asyncio.create_task(self._article(src, item)): (src, item) for src, item in order}
        if not tasks:
            return
        _done, late = await asyncio.wait(tasks, timeout=max(self._remaining(), 0))
        for t in late:
            t.cancel()
        await asyncio.gather(*late, return_exceptions=True)
        if late:
            self.report.out_of_budget = True
            log.info("crawl: budget spent, %d article(s) carried to the next run", len(late))
        for t in late:
            src, item = tasks[t]
            self.carry.add(src.name, item)

    async def _article(self, src: SourceSpec, item: Pending) -> None:
        rep = self.report.source(src.name)
        start = time.monotonic()
        try:
            await self._article_inner(src, item, rep)
        finally:
            self._span(src.name, start)

    async def _article_inner(self, src: SourceSpec, item: Pending, rep: SourceReport) -> None:
        async def check(url: str) -> None:
            if not src.host_allowed(urlsplit(url).hostname or ""):
                raise FetchError("host_not_allowed", url)
            await self.robots.check(url, src.allow_networks, self.options.max_crawl_delay_s)

        try:
            got = await self.fetcher.get(item.url, accept="html", allow=src.allow_networks,
                                         check=check)
        except FetchError as exc:
            rep.count(exc.reason)
            log.info("crawl %s: %s", src.name, exc)
            if exc.transient and item.attempts + 1 < self.options.max_attempts:
                item.attempts += 1
                self.carry.add(src.name, item)
            return
        rep.fetched += 1
        rep.bytes += len(got.body)
        # Archived before anything can fail on it: a page we cannot read is still kept.
        raw_key = keys.raw_html(got.url, self.now)
        try:
            await asyncio.to_thread(self._archive, raw_key, got, src)
        except Exception as exc:
            rep.count("archive_failed")
            log.exception("crawl %s: archiving %s failed: %s", src.name, got.url, exc)
            self.carry.add(src.name, item)
            return
        entry_id = keys.article_id(item.url)
        final_id = keys.article_id(got.url)
        if final_id != entry_id and (final_id in self.seen or final_id in self.emitted_ids):
            rep.duplicate += 1  # a new URL redirecting to an article we have
            self.also_seen.add(entry_id)
            return
        if final_id in self.emitted_ids:
            rep.duplicate += 1
            return
        loop = asyncio.get_running_loop()
        try:
            ex, fp = await loop.run_in_executor(self.pool, _extract, got, item.entry())
        except (Undecodable, ExtractionFailed) as exc:
            rep.count(exc.reason)
            log.info("crawl %s: %s: %s", src.name, got.url, exc)
            return
        except Exception as exc:  # an extractor bug must not stop the crawl
            rep.count("extraction_error")
            log.exception("crawl %s: extracting %s: %s", src.name, got.url, exc)
            return
        if ex.repaired:
            rep.notes["invalid_bytes_replaced"] += 1
        if ex.method == "feed_summary":
            rep.notes["summary_fallback"] += 1
        twin = self.near.match(final_id, fp)
        if twin is not None:
            rep.count("near_duplicate")
            log.info("crawl %s: %s is a near-duplicate of article %s", src.name, got.url, twin)
            self.also_seen.update({entry_id, final_id})
            return
        record = self._record(src, got, ex, raw_key, final_id)
        try:
            Article.model_validate(record)
        except ValidationError as exc:
            rep.count("invalid_record")
            log.info("crawl %s: %s: %s", src.name, got.url, describe_errors(exc))
            return
        self.emitted_ids.add(final_id)
        self.emitted.append(_Emitted(record, item, src.name, (entry_id, final_id), fp))
        rep.new += 1

    def _archive(self, key: str, got: Fetched, src: SourceSpec) -> None:
        meta = {
            "url": quote(got.url, safe=":/?&=%#@+,;~!$'()*[]"),
            "status": str(got.status),
            "content-type": got.headers.get("content-type", "")[:200],
            "fetched": self.now.isoformat(),
            "source": quote(src.name),
        }
        self.store.put(key, gzip.compress(got.body, compresslevel=6, mtime=0), metadata=meta)

    def _record(self, src: SourceSpec, got: Fetched, ex: Extracted, raw_key: str,
                article_id: str) -> dict[str, Any]:
        record: dict[str, Any] = {
            "id": article_id,
            "url": keys.canonical_url(got.url),
            "title": ex.title,
            "body": ex.body,
            "published": ex.published,
            "source": src.name,
            "language": ex.language or src.language,
            "author": ex.author,
            "site": ex.site,
            "raw": raw_key,
            "fetched": self.now.isoformat(),
            "extraction": ex.method,
            "crawl_id": self.crawl_id,
        }
        return {k: v for k, v in record.items() if v is not None}

    # ---- publishing (synchronous, after the event loop) ------------------------------------

    def commit(self) -> None:
        self.report.seconds = time.monotonic() - self.started
        written = True
        if self.emitted:
            key = keys.incoming(self.crawl_id, self.now)
            data = jsonl.encode(e.record for e in self.emitted)
            try:
                self.store.put(key, data)
            except Exception:
                # The local store runs the pipeline inside put; if the object is there, the
                # batch is published and whatever failed downstream reports on its own.
                if self.store.head(key) is None:
                    written = False
                    log.exception("crawl: writing batch %s failed; articles carried over", key)
                else:
                    log.exception("crawl: batch %s written, its trigger failed", key)
            if written:
                self.report.batch_key = key
                self.report.articles = len(self.emitted)
            else:
                for e in self.emitted:
                    self.carry.add(e.source, e.item)
                    self.report.source(e.source).errors["batch_write_failed"] += 1
                    self.report.source(e.source).new -= 1
        if written:
            for e in self.emitted:
                for aid in e.ids:
                    self.seen.add(aid)
            for aid in self.also_seen:
                self.seen.add(aid)
            self.seen.flush()
            self.near.flush()
        for name, state in self.states.items():
            if name in self.validators:
                state.etag, state.last_modified = self.validators[name]
                state.feed_url = next(s.url for s in self.config.sources if s.name == name)
            carried = self.carry.items.get(name, [])
            overflow = len(carried) - self.options.max_pending
            if overflow > 0:
                self.report.source(name).skipped["pending_overflow"] += overflow
                carried = carried[: self.options.max_pending]
            state.pending = carried
            state.last_crawl = self.now.isoformat()
            self.report.source(name).carried_over = len(carried)
            save_state(self.ledger, name, state)
        # The crawl's own timeline: it finished the measured seconds after its "now", whoever
        # chose that now, so started and finished never come from two different clocks.
        self.report.finished = (self.now + timedelta(seconds=time.monotonic() - self.started)).isoformat()
        save_report(self.ledger, self.report)


def _extract(got: Fetched, entry: Entry) -> tuple[Extracted, int | None]:
    ex = extract_article(got.body, got.url, declared_charset=got.charset, entry=entry)
    return ex, fingerprint(ex.body)


def crawl_into(
    store: ObjectStore,
    ledger: Ledger,
    sources: SourcesConfig,
    *,
    budget_s: float = 600.0,
    now: datetime | None = None,
    resolver: Resolver | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Clock | None = None,
) -> CrawlReport:
    """Crawl every enabled source within ``budget_s`` seconds; returns the (saved) report.

    ``now`` (default: ``clock``'s, else the system clock's) dates the crawl: its id, the batch
    and archive keys, the dedup day. ``resolver`` replaces DNS (tests inject one they
    control); names in the config's ``static_hosts`` are answered before it. ``transport``
    is for tests only.
    """
    now = now or (clock or SYSTEM_CLOCK).utcnow()
    base = resolver or system_resolver
    run = _Crawl(store, ledger, sources, budget_s=budget_s, now=now,
                 resolver=static_resolver(sources.static_hosts, base), transport=transport)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(run.run())
    else:
        # Called from async code (a test, a notebook): run the crawl on its own loop.
        with concurrent.futures.ThreadPoolExecutor(1) as ex:
            ex.submit(asyncio.run, run.run()).result()
    run.commit()
    r = run.report
    t = r.totals()
    log.info("crawl %s: %d new article(s) -> %s; fetched %d, duplicate %d, 304 %d, carried %d, "
             "skipped %s, errors %s, %.1fs", r.crawl_id, r.articles, r.batch_key or "no batch",
             t["fetched"], t["duplicate"], t["not_modified"], t["carried_over"], t["skipped"],
             t["errors"], r.seconds)
    return r


def crawl(rt: Any, sources: SourcesConfig, *, budget_s: float = 600.0,
          now: datetime | None = None, resolver: Resolver | None = None) -> CrawlReport:
    """The scheduled handler's call: crawl with the runtime's store, ledger and clock."""
    return crawl_into(rt.store, rt.ledger, sources, budget_s=budget_s, now=now, resolver=resolver,
                      clock=rt.clock)


# Time kept back from a Lambda's remaining time for the handler's own exit.
_HANDLER_RESERVE_S = 30.0


def run_scheduled(rt: Any, *, remaining_s: float | None = None) -> dict[str, Any]:
    """The ``@app.schedule`` crawl: the configured sources, within the Lambda's time left."""
    from chalicelib.crawl.sources import load_sources

    budget = max(10.0, remaining_s - _HANDLER_RESERVE_S) if remaining_s else 600.0
    return crawl(rt, load_sources(rt.settings.sources_file), budget_s=budget).to_dict()
