"""The EventBridge "Object Created" event that S3 sends, built for the local store's trigger."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from chalicelib.clock import SYSTEM_CLOCK
from chalicelib.store.base import ObjectInfo


def object_created_event(bucket: str, info: ObjectInfo, region: str = "local", *,
                         now: datetime | None = None) -> dict[str, Any]:
    """``now``: the event's time (the runtime's clock); the system clock when not given."""
    when = (now or SYSTEM_CLOCK.utcnow()).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    obj: dict[str, Any] = {"key": info.key, "size": info.size, "etag": info.etag,
                           "sequencer": uuid.uuid4().hex[:16].upper()}
    if info.version:
        obj["version-id"] = info.version
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": "000000000000",
        "time": when,
        "region": region,
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": obj,
            "request-id": uuid.uuid4().hex[:16].upper(),
            "requester": "newsops-local",
            "reason": "PutObject",
        },
    }


def object_from_event(event: dict[str, Any]) -> tuple[str, str, str | None, int | None, str | None]:
    """(bucket, key, etag, size, version) of an S3 EventBridge event; ValueError when not one."""
    if event.get("source") != "aws.s3" or event.get("detail-type") != "Object Created":
        raise ValueError(f"not an S3 Object Created event: {event.get('source')}/{event.get('detail-type')}")
    detail = event.get("detail") or {}
    bucket = (detail.get("bucket") or {}).get("name", "")
    obj = detail.get("object") or {}
    if not obj.get("key"):
        raise ValueError("S3 event without an object key")
    # The key is taken as it is. S3's notifications to SNS, SQS and Lambda ("Records") carry it
    # form-URL-encoded ("red flower.jpg" -> "red+flower.jpg"); the EventBridge "Object Created"
    # event does not (AWS's EventBridge event message structure documents the plain key), so
    # decoding it here would turn a "+" into a space and a "%41" into an "A": another object.
    # AWS sends "etag"; some emulators send "eTag".
    etag = obj.get("etag") or obj.get("eTag")
    return bucket, str(obj["key"]), etag, obj.get("size"), obj.get("version-id")
