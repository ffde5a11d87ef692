"""Helpers for pipeline tests: sample inputs and the S3-shaped event, through the real store."""

from __future__ import annotations

import gzip
import json
from typing import Any

from chalice.test import Client

from chalicelib.contract import keys
from chalicelib.store.events import object_created_event


def article(i: int, **over: Any) -> dict[str, Any]:
    return {"url": f"https://news.example/{i}", "title": f"Story {i}",
            "body": f"Northwind Holdings Inc. said on Tuesday that revenue rose {i} percent. " * (1 + i % 5),
            "language": "en", "source": "Example News", **over}


def jsonl_gz(records: list[Any]) -> bytes:
    lines = [r if isinstance(r, bytes) else json.dumps(r).encode() for r in records]
    return gzip.compress(b"\n".join(lines) + b"\n")


def put_incoming(rt, name: str, data: bytes) -> tuple[str, str]:
    """Publish an input: in the local backend this put itself triggers the run."""
    key = f"incoming/2026-11-27/{name}"
    info = rt.store.put(key, data)
    return key, keys.run_id(key, info.etag)


def deliver_event(rt, key: str) -> dict:
    """Deliver the S3 "Object Created" event for ``key`` again, through Chalice's test client."""
    import app

    info = rt.store.head(key)
    event = object_created_event(rt.store.bucket, info)
    with Client(app.app) as client:
        response = client.lambda_.invoke("ingest", event)
    return response.payload


def runs_tree(rt, rid: str) -> dict[str, str]:
    """Every object under runs/<id>/ with its etag: what must not change on a duplicate."""
    return {k: rt.store.head(k).etag for k in rt.store.list(keys.run_prefix(rid))}
