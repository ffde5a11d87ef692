"""Crawl state in a real DynamoDB item limit (moto enforces the 400 KB per item)."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta

from chalicelib.crawl.dedup import NearDuplicates, SeenIds
from chalicelib.ledger.dynamodb import DynamoDBLedger
from tests.aws.moto_world import World


def _id(i: int) -> str:
    return hashlib.sha256(str(i).encode()).hexdigest()[:32]


def test_a_day_of_twenty_thousand_fingerprints_fits_dynamodb(world: World) -> None:
    ledger = DynamoDBLedger(world.runs_table, world.state_table, world.client("dynamodb"))
    day = date(2026, 11, 20)
    near = NearDuplicates(ledger, day, days=3, bits=3)
    # Spread fingerprints: each differs from the others in many bits, so none is a near twin.
    fps = {_id(i): int(hashlib.sha256(f"fp{i}".encode()).hexdigest()[:16], 16) for i in range(20_000)}
    for aid, fp in fps.items():
        near.match(aid, fp)
    near.flush()  # one document per day held ~7k of these before DynamoDB refused it
    later = NearDuplicates(ledger, day + timedelta(days=1), days=3, bits=3)
    probe_id, probe_fp = next(iter(fps.items()))
    assert later.match("another-url", probe_fp ^ 1) == probe_id
    assert later.match(_id(-1), int(hashlib.sha256(b"new").hexdigest()[:16], 16)) is None


def test_seen_ids_of_a_busy_month_fit_dynamodb(world: World) -> None:
    ledger = DynamoDBLedger(world.runs_table, world.state_table, world.client("dynamodb"))
    day = date(2026, 11, 20)
    seen = SeenIds(ledger, day, keep_days=30)
    for i in range(200_000):
        seen.add(_id(i))
    seen.flush()
    assert _id(123) in SeenIds(ledger, day, keep_days=30)
