"""The search-index port: one merged document per article, idempotent by article id."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any


@dataclass
class IndexOutcome:
    indexed: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)  # {"id", "reason"}
    retried: int = 0
    # Documents read from the input; a complete run has received == indexed + len(failed).
    received: int = 0

    @property
    def reconciled(self) -> bool:
        return self.received == self.indexed + len(self.failed)


@dataclass
class SearchQuery:
    text: str = ""
    company: str | None = None
    category: str | None = None
    source: str | None = None
    language: str | None = None
    run_id: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    similar_to: str | None = None  # an article id: kNN on its embedding
    size: int = 10
    offset: int = 0
    facets: bool = False
    # Replay runs (``newsops replay``) index their results beside production's; they show only
    # when asked for, or when the query names the run.
    replays: bool = False


@dataclass
class SearchResult:
    total: int
    hits: list[dict[str, Any]]
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    took_ms: float = 0.0


class SearchIndex(ABC):
    @abstractmethod
    def index(self, documents: Iterable[dict[str, Any]]) -> IndexOutcome:
        """Upsert by ``doc["id"]``: a re-run overwrites, never duplicates. Streams its input."""

    @abstractmethod
    def search(self, query: SearchQuery) -> SearchResult: ...

    @abstractmethod
    def count(self, *, run_id: str | None = None) -> int: ...

    @abstractmethod
    def get(self, doc_id: str) -> dict[str, Any] | None: ...
