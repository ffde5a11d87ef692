"""Per-source crawl state in the ledger: the feed's validators and the carried-over work."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from chalicelib.crawl.feeds import Entry
from chalicelib.ledger.base import Ledger

STATE_NAMESPACE = "crawl-source"


@dataclass
class Pending:
    """An article URL discovered but not yet fetched (budget ran out, or a transient error)."""

    url: str
    title: str = ""
    summary: str = ""
    published: str | None = None
    attempts: int = 0

    @classmethod
    def of(cls, e: Entry) -> Pending:
        return cls(e.url, e.title, e.summary, e.published)

    def entry(self) -> Entry:
        return Entry(self.url, self.title, self.summary, self.published)


@dataclass
class SourceState:
    etag: str | None = None
    last_modified: str | None = None
    feed_url: str | None = None  # validators belong to this URL; a new URL starts afresh
    pending: list[Pending] = field(default_factory=list)
    last_crawl: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> SourceState:
        if not d:
            return cls()
        pending = [Pending(**p) for p in d.get("pending", [])]
        return cls(d.get("etag"), d.get("last_modified"), d.get("feed_url"), pending,
                   d.get("last_crawl"))


def load_state(ledger: Ledger, source: str) -> SourceState:
    return SourceState.from_dict(ledger.get_state(STATE_NAMESPACE, source))


def save_state(ledger: Ledger, source: str, state: SourceState) -> None:
    ledger.put_state(STATE_NAMESPACE, source, state.to_dict())
