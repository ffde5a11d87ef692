"""Bulk indexing with accounting: every document ends up indexed or reported, never lost.

The clients' ``streaming_bulk`` helpers do the wire work (NDJSON, splitting by bytes, per-item
results). Around them this module adds what they lack: a retry of *item-level* transient
failures (429 and 5xx "try again" statuses, not only 429) with exponential backoff and jitter,
a retry of whole requests that failed on the connection, and a report of permanent failures
with the server's reason. Input is consumed in fixed-size batches, so memory stays constant
whatever the number of documents.
"""

from __future__ import annotations

import itertools
import logging
import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from chalicelib.search.base import IndexOutcome

log = logging.getLogger(__name__)

Action = dict[str, Any]
# Sends one batch and yields (ok, {op_type: item}) per action, in the order given.
SendBatch = Callable[[list[Action]], Iterable[tuple[bool, dict[str, Any]]]]


@dataclass(frozen=True)
class BulkPolicy:
    # 1,000 articles (~6.5 MB of JSON with their vectors) a request: inside the 5-15 MB that
    # OpenSearch's tuning guide suggests, and on osmem (the test server, bleve underneath) a
    # batch of 1,000+ documents is a segment it never re-indexes to merge, where ten batches
    # of 500 are merged by indexing all 5,000 again: 190 -> 350 docs/s over 5,000 bench
    # articles (bench/bench_index.py). max_request_bytes still splits larger documents.
    batch_docs: int = 1000
    max_request_bytes: int = 10 * 1024 * 1024
    max_attempts: int = 5
    initial_backoff_s: float = 0.5
    max_backoff_s: float = 30.0
    transient_statuses: frozenset[int] = field(
        default_factory=lambda: frozenset({408, 429, 502, 503, 504})
    )

    def backoff(self, attempt: int) -> float:
        # Full jitter: parallel writers that were throttled together do not come back together.
        ceiling = min(self.max_backoff_s, self.initial_backoff_s * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)


def batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    it = iter(items)
    while batch := list(itertools.islice(it, size)):
        yield batch


def item_reason(item: dict[str, Any]) -> str:
    """The server's explanation of a failed bulk item, one line."""
    error = item.get("error")
    status = item.get("status")
    if isinstance(error, dict):
        text = f"{error.get('type', 'error')}: {error.get('reason', '')}".strip()
        cause = error.get("caused_by")
        if isinstance(cause, dict) and cause.get("reason"):
            text += f" (caused by {cause.get('type', 'error')}: {cause['reason']})"
    else:
        text = str(error) if error else "unknown error"
    return f"HTTP {status}: {text}" if status is not None else text


def _status(item: dict[str, Any]) -> int | None:
    status = item.get("status")
    return status if isinstance(status, int) else None


def run_bulk(
    actions: Iterable[Action],
    send: SendBatch,
    policy: BulkPolicy,
    outcome: IndexOutcome,
    *,
    request_errors: tuple[type[BaseException], ...] = (),
    sleep: Callable[[float], None] = time.sleep,
) -> IndexOutcome:
    """Index ``actions`` (each with ``_id``) through ``send``; adds its counts to ``outcome``.

    ``request_errors`` are the exceptions that mean the request itself did not get through
    (connection refused, timeout): the unanswered part of the batch is retried like a 503.
    """
    for batch in batched(actions, policy.batch_docs):
        pending = batch
        for attempt in range(1, policy.max_attempts + 1):
            retry: list[tuple[Action, str]] = []
            done = 0
            try:
                for action, (ok, result) in zip(pending, send(pending), strict=False):
                    done += 1
                    (item,) = result.values()
                    if ok:
                        outcome.indexed += 1
                    elif (_status(item) in policy.transient_statuses
                          or isinstance(item.get("exception"), request_errors)):
                        # opensearch-py reports a refused connection as items with status "N/A"
                        retry.append((action, item_reason(item)))
                    else:
                        outcome.failed.append({"id": action["_id"], "reason": item_reason(item)})
            except request_errors as e:
                retry.extend((a, f"request failed: {e}") for a in pending[done:])
                done = len(pending)
            if done != len(pending):
                # The helper answered fewer items than it was given: a bug, but never a silent one.
                for a in pending[done:]:
                    outcome.failed.append({"id": a["_id"], "reason": "no result from the bulk helper"})
            if not retry:
                break
            if attempt == policy.max_attempts:
                for a, reason in retry:
                    outcome.failed.append(
                        {"id": a["_id"], "reason": f"{reason} (gave up after {attempt} attempts)"}
                    )
                break
            outcome.retried += len(retry)
            delay = policy.backoff(attempt)
            log.info("bulk: %d transient failures, retrying in %.2f s", len(retry), delay)
            sleep(delay)
            pending = [a for a, _ in retry]
    return outcome
