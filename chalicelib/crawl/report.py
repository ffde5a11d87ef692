"""The crawl report: per source what was fetched, new, duplicate, skipped and failed, and why."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from chalicelib.ledger.base import Ledger

REPORT_NAMESPACE = "crawl-report"

# Decisions the crawler takes on purpose; every other reason is an error.
SKIP_REASONS = frozenset({
    "robots_disallowed", "crawl_delay_too_long", "host_not_allowed", "near_duplicate",
    "content_type", "too_large", "pending_overflow", "bad_url",
    "loopback_address", "private_address", "link_local_address", "multicast_address",
    "unspecified_address", "metadata_address",
})


@dataclass
class SourceReport:
    name: str
    fetched: int = 0  # HTTP responses with a body (feeds and pages)
    new: int = 0  # articles in this crawl's batch
    duplicate: int = 0  # already crawled (same canonical URL id)
    not_modified: int = 0  # feeds answered 304
    discovered: int = 0  # article URLs listed by the feed this time
    carried_over: int = 0  # left for the next run
    bytes: int = 0
    seconds: float = 0.0
    skipped: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    # Kept, but repaired on the way: bytes replaced, summary used, a feed read in part.
    notes: Counter[str] = field(default_factory=Counter)

    def count(self, reason: str) -> None:
        (self.skipped if reason in SKIP_REASONS else self.errors)[reason] += 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "fetched": self.fetched, "new": self.new, "duplicate": self.duplicate,
            "not_modified": self.not_modified, "discovered": self.discovered,
            "carried_over": self.carried_over, "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
            "skipped": dict(sorted(self.skipped.items())),
            "errors": dict(sorted(self.errors.items())),
            "notes": dict(sorted(self.notes.items())),
        }


@dataclass
class CrawlReport:
    crawl_id: str
    started: str
    budget_s: float
    finished: str | None = None
    seconds: float = 0.0
    batch_key: str | None = None
    articles: int = 0
    out_of_budget: bool = False  # work was left for the next run because time ran out
    sources: dict[str, SourceReport] = field(default_factory=dict)

    def source(self, name: str) -> SourceReport:
        if name not in self.sources:
            self.sources[name] = SourceReport(name)
        return self.sources[name]

    def totals(self) -> dict[str, Any]:
        t = SourceReport("total")
        for s in self.sources.values():
            for k in ("fetched", "new", "duplicate", "not_modified", "discovered",
                      "carried_over", "bytes"):
                setattr(t, k, getattr(t, k) + getattr(s, k))
            t.skipped.update(s.skipped)
            t.errors.update(s.errors)
            t.notes.update(s.notes)
        t.seconds = self.seconds
        return t.to_dict()

    def to_dict(self) -> dict[str, Any]:
        return {
            "crawl_id": self.crawl_id, "started": self.started, "finished": self.finished,
            "seconds": round(self.seconds, 3), "budget_s": self.budget_s,
            "batch_key": self.batch_key, "articles": self.articles,
            "out_of_budget": self.out_of_budget, "totals": self.totals(),
            "sources": {n: s.to_dict() for n, s in sorted(self.sources.items())},
        }


def save_report(ledger: Ledger, report: CrawlReport) -> None:
    ledger.put_state(REPORT_NAMESPACE, report.crawl_id, report.to_dict())


def recent_reports(ledger: Ledger, limit: int = 20) -> list[dict[str, Any]]:
    """Newest first (crawl ids start with their UTC time, so key order is time order)."""
    return [doc for _key, doc in ledger.list_state(REPORT_NAMESPACE)][::-1][:limit]
