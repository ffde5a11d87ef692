"""The S3 object store against moto: what is S3-specific (the port's contract is in tests/conformance)."""

from __future__ import annotations

import gzip
import hashlib
import os

import pytest
from botocore.exceptions import ReadTimeoutError

from chalicelib.aws import client
from chalicelib.store.s3 import MIB, S3ObjectStore

BUCKET = "newsops-store-test"


@pytest.fixture
def s3(moto_env: None):
    c = client("s3")
    c.create_bucket(Bucket=BUCKET)
    return c


@pytest.fixture
def store(s3) -> S3ObjectStore:
    return S3ObjectStore(BUCKET, s3, part_size=5 * MIB)


def test_put_is_one_request_with_md5_etag_and_metadata(store: S3ObjectStore, s3) -> None:
    info = store.put("runs/r/report.json", b'{"ok": true}', metadata={"records": "3"})
    assert info.etag == hashlib.md5(b'{"ok": true}').hexdigest()
    head = store.head("runs/r/report.json")
    assert head is not None and head.etag == info.etag and head.size == 12
    assert head.metadata == {"records": "3"}
    assert store.uri("runs/r/report.json") == f"s3://{BUCKET}/runs/r/report.json"


def test_small_stream_is_a_single_put(store: S3ObjectStore, s3) -> None:
    with store.open_write("runs/r/quarantine/ingest.jsonl", metadata={"k": "v"}) as f:
        f.write(b"a\n")
        f.write(b"b\n")
    head = store.head("runs/r/quarantine/ingest.jsonl")
    assert head is not None and head.etag == hashlib.md5(b"a\nb\n").hexdigest()
    assert head.metadata == {"k": "v"}
    assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []


def test_large_stream_is_multipart_and_invisible_until_completed(store: S3ObjectStore, s3) -> None:
    block = os.urandom(MIB)
    key = "runs/r/results/embed/00000.jsonl.gz"
    with store.open_write(key) as f:
        for _ in range(11):
            f.write(block)
        # Two parts are uploaded by now, yet nothing is published under the key.
        assert store.head(key) is None
        assert len(s3.list_multipart_uploads(Bucket=BUCKET)["Uploads"]) == 1
    head = store.head(key)
    assert head is not None and head.size == 11 * MIB
    assert head.etag.endswith("-3")  # 5 + 5 + 1 MiB
    assert store.get(key) == block * 11
    assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []


def test_error_while_streaming_aborts_and_publishes_nothing(store: S3ObjectStore, s3) -> None:
    key = "runs/r/chunks/00000.jsonl.gz"
    with pytest.raises(RuntimeError, match="boom"), store.open_write(key) as f:
        f.write(os.urandom(6 * MIB))
        raise RuntimeError("boom")
    assert store.head(key) is None
    assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []


def test_gzip_stream_through_open_write_and_open_read(store: S3ObjectStore) -> None:
    lines = [f'{{"n": {i}}}\n'.encode() for i in range(50_000)]
    with store.open_write("incoming/2026-11-27/b.jsonl.gz") as raw, \
            gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        for line in lines:
            gz.write(line)
    with store.open_read("incoming/2026-11-27/b.jsonl.gz") as raw, \
            gzip.GzipFile(fileobj=raw, mode="rb") as gz:
        assert list(gz) == lines


def test_read_resumes_a_dropped_connection_at_the_right_byte(store: S3ObjectStore, monkeypatch) -> None:
    data = os.urandom(3 * MIB + 17)
    store.put("raw/2026/11/27/x.html.gz", data)
    from chalicelib.store import s3 as s3_module

    real_reopen = s3_module._ResumingBody._reopen
    reopened = []

    def flaky_read(self, real_read):
        def read(amt=None):
            if self._pos >= MIB and not reopened:
                raise ReadTimeoutError(endpoint_url="s3")
            return real_read(amt)
        return read

    def reopen(self):
        reopened.append(self._pos)
        real_reopen(self)

    original_init = s3_module._ResumingBody.__init__

    def init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        self._body.read = flaky_read(self, self._body.read)

    monkeypatch.setattr(s3_module._ResumingBody, "__init__", init)
    monkeypatch.setattr(s3_module._ResumingBody, "_reopen", reopen)
    with store.open_read("raw/2026/11/27/x.html.gz") as f:
        got = b"".join(iter(lambda: f.read(256 * 1024), b""))
    assert got == data
    assert reopened == [MIB]


def test_missing_object(store: S3ObjectStore) -> None:
    assert store.head("runs/none/manifest.json") is None
    with pytest.raises(KeyError), store.open_read("runs/none/manifest.json"):
        pass
    store.delete("runs/none/manifest.json")  # deleting nothing is fine, as locally


def test_versioned_bucket_reports_the_version(store: S3ObjectStore, s3) -> None:
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    first = store.put("incoming/2026-11-27/v.jsonl.gz", b"one")
    second = store.put("incoming/2026-11-27/v.jsonl.gz", b"two")
    assert first.version and second.version and first.version != second.version
    head = store.head("incoming/2026-11-27/v.jsonl.gz")
    assert head is not None and head.version == second.version


def test_list_pages_past_a_thousand_keys(store: S3ObjectStore) -> None:
    from moto.s3.models import s3_backends

    backend = s3_backends["123456789012"]["aws"]  # straight into moto: 1005 PUTs would take seconds
    for i in range(1005):
        backend.put_object(BUCKET, f"runs/r/chunks/{i:05d}.jsonl.gz", b"x")
    store.put("runs/r/manifest.json", b"{}")
    keys = list(store.list("runs/r/chunks/"))
    assert len(keys) == 1005 and keys == sorted(keys)


def test_invalid_keys_and_settings(s3) -> None:
    store = S3ObjectStore(BUCKET, s3)
    for bad in ("", "/abs", "a/../b"):
        with pytest.raises(ValueError):
            store.put(bad, b"x")
    with pytest.raises(ValueError):
        S3ObjectStore("", s3)
    with pytest.raises(ValueError):
        S3ObjectStore(BUCKET, s3, part_size=MIB)
