"""Duplicate detection: article ids already crawled, and near-duplicate texts (SimHash).

Both live in the ledger as small documents, so they survive between runs and fit a
DynamoDB item: seen ids in 256 shards keyed by the id's first two hex digits (pruned by
age), fingerprints in one document per day (kept for the near-duplicate window).
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

from simhash import Simhash, SimhashIndex

from chalicelib.ledger.base import Ledger

SEEN_NAMESPACE = "crawl-seen"
FINGERPRINT_NAMESPACE = "crawl-simhash"
# simhash reports index building at INFO, once per 100k entries: not worth a log line per run.
_index_log = logging.getLogger("newsops.crawl.simhash")
_index_log.setLevel(logging.WARNING)
# Shorter texts (teasers, feed summaries) share too few shingles for a fingerprint to mean much.
MIN_FINGERPRINT_CHARS = 400


class SeenIds:
    """Which article ids were already emitted (or judged duplicates) in earlier runs."""

    def __init__(self, ledger: Ledger, today: date, keep_days: int) -> None:
        self.ledger = ledger
        self.today = today
        self.keep_days = keep_days
        self._shards: dict[str, dict[str, str]] = {}
        self._dirty: set[str] = set()

    def _shard(self, article_id: str) -> dict[str, str]:
        key = article_id[:2]
        shard = self._shards.get(key)
        if shard is None:
            doc = self.ledger.get_state(SEEN_NAMESPACE, key) or {}
            shard = self._shards[key] = dict(doc.get("ids", {}))
        return shard

    def __contains__(self, article_id: str) -> bool:
        return article_id in self._shard(article_id)

    def add(self, article_id: str) -> None:
        self._shard(article_id)[article_id] = self.today.isoformat()
        self._dirty.add(article_id[:2])

    def flush(self) -> None:
        oldest = (self.today - timedelta(days=self.keep_days)).isoformat()
        for key in sorted(self._dirty):
            ids = {k: v for k, v in self._shards[key].items() if v >= oldest}
            self.ledger.put_state(SEEN_NAMESPACE, key, {"ids": ids})
        self._dirty.clear()


def fingerprint(text: str) -> int | None:
    """64-bit SimHash of character 4-grams (works for English and Japanese alike)."""
    if len(text) < MIN_FINGERPRINT_CHARS:
        return None
    return int(Simhash(text, f=64).value)


class NearDuplicates:
    """Fingerprints of the last ``days`` days plus this run's; lookups within ``bits``."""

    def __init__(self, ledger: Ledger, today: date, days: int, bits: int) -> None:
        self.ledger = ledger
        self.today = today
        self.days = days
        self.bits = bits
        self._new: list[tuple[str, int]] = []
        objs: list[tuple[str, Simhash]] = []
        for d in range(days + 1):
            day = (today - timedelta(days=d)).isoformat()
            doc = self.ledger.get_state(FINGERPRINT_NAMESPACE, day) or {}
            for aid, fp in doc.get("fp", {}).items():
                objs.append((aid, Simhash(int(fp, 16), f=64)))
        self._index = SimhashIndex(objs, f=64, k=bits, log=_index_log)

    def match(self, article_id: str, fp: int | None) -> str | None:
        """The id of an earlier near-identical text, else None (and ``fp`` is remembered)."""
        if fp is None:
            return None
        h = Simhash(fp, f=64)
        near = [x for x in self._index.get_near_dups(h) if x != article_id]
        if near:
            return sorted(near)[0]
        self._index.add(article_id, h)
        self._new.append((article_id, fp))
        return None

    def flush(self) -> None:
        if not self._new:
            return
        day = self.today.isoformat()
        doc: dict[str, Any] = self.ledger.get_state(FINGERPRINT_NAMESPACE, day) or {}
        fps = dict(doc.get("fp", {}))
        fps.update({aid: f"{fp:016x}" for aid, fp in self._new})
        self.ledger.put_state(FINGERPRINT_NAMESPACE, day, {"fp": fps})
        self._new.clear()
