"""Per-source freshness: when did each source last bring a new article?

Read from what the crawler records in the ledger: its crawl reports (namespace
``crawl-report``: per crawl, per source ``new`` articles) and, when present, a
``last_article`` time in its per-source state (namespace ``crawl-source``). The sources
checked are those of the latest crawl report, i.e. the sources currently configured.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chalicelib.ledger.base import Ledger

REPORT_NAMESPACE = "crawl-report"
SOURCE_NAMESPACE = "crawl-source"


@dataclass
class SourceFreshness:
    source: str
    last_new: float | None  # epoch seconds of the latest crawl that brought a new article
    first_seen: float  # the first crawl that listed this source
    stale: bool
    age_s: float | None


@dataclass
class CrawlSummary:
    crawl_id: str
    started: float | None
    finished: float | None
    articles: int
    sources: int
    errors: int


def _epoch(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()


def crawl_reports(ledger: Ledger) -> list[dict[str, Any]]:
    """Oldest first: crawl ids start with their UTC time, so key order is time order."""
    return [doc for _key, doc in ledger.list_state(REPORT_NAMESPACE)]


def last_crawl(ledger: Ledger, reports: list[dict[str, Any]] | None = None) -> CrawlSummary | None:
    reports = crawl_reports(ledger) if reports is None else reports
    if not reports:
        return None
    doc = reports[-1]
    sources = doc.get("sources") or {}
    errors = sum(sum((s.get("errors") or {}).values()) for s in sources.values())
    return CrawlSummary(crawl_id=str(doc.get("crawl_id", "")), started=_epoch(doc.get("started")),
                        finished=_epoch(doc.get("finished")), articles=int(doc.get("articles") or 0),
                        sources=len(sources), errors=errors)


def source_freshness(ledger: Ledger, *, now: float, window_s: float) -> list[SourceFreshness]:
    reports = crawl_reports(ledger)
    if not reports:
        return []  # the crawler has never run here: nothing to be stale against
    last_new: dict[str, float] = {}
    first_seen: dict[str, float] = {}
    for doc in reports:
        when = _epoch(doc.get("finished")) or _epoch(doc.get("started"))
        if when is None:
            continue
        for name, s in (doc.get("sources") or {}).items():
            first_seen.setdefault(name, when)
            if int(s.get("new") or 0) > 0:
                last_new[name] = max(last_new.get(name, 0.0), when)
    for name, state in ledger.list_state(SOURCE_NAMESPACE):
        stated = _epoch(state.get("last_article"))
        if stated is not None:
            last_new[name] = max(last_new.get(name, 0.0), stated)
    current = sorted((reports[-1].get("sources") or {}).keys())
    out = []
    for name in current:
        newest = last_new.get(name)
        reference = newest if newest is not None else first_seen.get(name, now)
        out.append(SourceFreshness(source=name, last_new=newest, first_seen=first_seen.get(name, now),
                                   stale=now - reference > window_s,
                                   age_s=None if newest is None else round(now - newest, 3)))
    return out
