"""S3 -> EventBridge -> the ingest handler under moto: the run reads the object the event names.

- Awkward keys ("+", spaces, "%", non-ASCII) arrive in EventBridge's event as they are and reach
  the run unchanged.
- In a versioned bucket (the stack's data bucket is versioned) the run of an overwritten object
  still reads the version its event names; in an unversioned one it fails clearly (412 on
  IfMatch), and the new bytes never run under the old id.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from chalicelib.contract import keys
from chalicelib.contract.schema import RunManifest
from chalicelib.ledger.dynamodb import DynamoDBLedger
from chalicelib.store.base import ObjectChanged
from chalicelib.store.s3 import S3ObjectStore
from tests.aws.moto_world import World, mocked_aws
from tests.aws.test_ingest_aws import _invoke, _received, _route_s3_events_to_a_queue


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[World]:
    with mocked_aws(monkeypatch, execute=False):
        w = World.create(task_names=("embed",), with_pipeline=True)
        tasks = [{"name": "embed", "kind": "embedding", "model": "none", "attempts": 2, "timeout_s": 600}]
        with w.installed_runtime(tmp_path, tasks, chunk_size=40):
            yield w


def _batch(first: int, n: int) -> bytes:
    lines = [json.dumps({"url": f"https://news.example/v/{i}", "title": f"Story {i}",
                         "body": f"Northwind Holdings said revenue rose {i} percent.", "language": "en"})
             for i in range(first, first + n)]
    return gzip.compress(("\n".join(lines) + "\n").encode())


def _etag(event: dict) -> str:
    obj = event["detail"]["object"]
    return obj.get("etag") or obj["eTag"]  # AWS writes "etag", moto "eTag"


def _manifest(w: World, rid: str) -> RunManifest:
    body = w.client("s3").get_object(Bucket=w.bucket, Key=keys.manifest(rid))["Body"].read()
    return RunManifest.model_validate_json(body)


@pytest.mark.parametrize("name", ["a+b.jsonl.gz", "two words.jsonl.gz", "100%25 sure%.jsonl.gz",
                                  "Zürich-日本語.jsonl.gz"])
def test_awkward_keys_arrive_as_they_are_and_start_their_run(world: World, name: str) -> None:
    w = world
    inbox = _route_s3_events_to_a_queue(w)
    key = f"incoming/2026-11-27/{name}"
    w.client("s3").put_object(Bucket=w.bucket, Key=key, Body=_batch(0, 5))
    [event] = _received(w, inbox)
    assert event["detail"]["object"]["key"] == key  # EventBridge carries the key unencoded
    etag = w.client("s3").head_object(Bucket=w.bucket, Key=key)["ETag"]
    rid = keys.run_id(key, etag)
    assert _invoke(event) == {"run_id": rid, "status": "started", "reason": ""}
    assert _manifest(w, rid).input.key == key


def test_a_versioned_bucket_runs_the_version_the_event_names(world: World) -> None:
    w = world
    s3 = w.client("s3")
    s3.put_bucket_versioning(Bucket=w.bucket, VersioningConfiguration={"Status": "Enabled"})
    inbox = _route_s3_events_to_a_queue(w)
    key = "incoming/2026-11-27/rewritten.jsonl.gz"
    s3.put_object(Bucket=w.bucket, Key=key, Body=_batch(0, 3))
    s3.put_object(Bucket=w.bucket, Key=key, Body=_batch(100, 8))  # overwritten before ingest ran
    first, second = _received(w, inbox)
    assert first["detail"]["object"]["version-id"] != second["detail"]["object"]["version-id"]

    old_rid = keys.run_id(key, _etag(first))
    assert _invoke(first)["status"] == "started"
    old = _manifest(w, old_rid)
    assert old.articles["valid"] == 3 and old.input.version == first["detail"]["object"]["version-id"]
    chunk = gzip.decompress(s3.get_object(Bucket=w.bucket, Key=keys.chunk(old_rid, 0))["Body"].read())
    assert b"news.example/v/0" in chunk and b"news.example/v/100" not in chunk

    new_rid = keys.run_id(key, _etag(second))
    assert _invoke(second)["status"] == "started"
    assert _manifest(w, new_rid).articles["valid"] == 8


def test_an_unversioned_bucket_fails_the_overwritten_run_clearly(world: World) -> None:
    w = world
    s3 = w.client("s3")
    inbox = _route_s3_events_to_a_queue(w)
    key = "incoming/2026-11-27/rewritten.jsonl.gz"
    s3.put_object(Bucket=w.bucket, Key=key, Body=_batch(0, 3))
    s3.put_object(Bucket=w.bucket, Key=key, Body=_batch(100, 8))
    first, _second = _received(w, inbox)
    assert "version-id" not in first["detail"]["object"] or first["detail"]["object"]["version-id"] in (None, "null")

    old_rid = keys.run_id(key, _etag(first))
    result = _invoke(first)
    assert result["run_id"] == old_rid and result["status"] == "rejected"
    assert "replaced before it was read" in result["reason"]
    assert s3.list_objects_v2(Bucket=w.bucket, Prefix=keys.run_prefix(old_rid)).get("KeyCount", 0) == 0
    run = DynamoDBLedger(w.runs_table, w.state_table, w.client("dynamodb")).get_run(old_rid)
    assert run is not None and run.state == "FAILED" and run.detail["input_replaced"] is True
    [alert] = w.alerts()
    assert alert["Subject"].startswith("newsops run not started, input replaced")
    assert json.loads(alert["Message"])["run_id"] == old_rid


def test_s3_pinned_reads(world: World) -> None:
    w = world
    s3 = w.client("s3")
    store = S3ObjectStore(w.bucket, s3)
    s3.put_bucket_versioning(Bucket=w.bucket, VersioningConfiguration={"Status": "Enabled"})
    v1 = store.put("incoming/p.jsonl.gz", b"one")
    store.put("incoming/p.jsonl.gz", b"two")
    assert v1.version
    with store.open_read("incoming/p.jsonl.gz", etag=v1.etag, version=v1.version) as f:
        assert f.read() == b"one"
    with pytest.raises(ObjectChanged, match="replaced"), store.open_read("incoming/p.jsonl.gz", etag=v1.etag):
        pass
    s3.delete_object(Bucket=w.bucket, Key="incoming/p.jsonl.gz", VersionId=v1.version)
    with pytest.raises(ObjectChanged, match="no longer exists"), \
            store.open_read("incoming/p.jsonl.gz", etag=v1.etag, version=v1.version):
        pass
