"""The object-store and ledger ports: one contract, checked on the local and the AWS adapter alike."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chalicelib.ledger.base import Ledger, RunRecord
from chalicelib.store.base import ObjectStore
from tests.aws.moto_world import World, mocked_aws


@pytest.fixture(scope="module")
def moto_world() -> Iterator[World]:
    with pytest.MonkeyPatch.context() as mp, mocked_aws(mp, execute=False):
        yield World.create()


_counter = iter(range(1_000_000))


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    if request.param == "local":
        from chalicelib.store.local import LocalObjectStore

        return LocalObjectStore(tmp_path / "store")
    from chalicelib.store.s3 import S3ObjectStore

    w: World = request.getfixturevalue("moto_world")
    bucket = f"contract-{next(_counter)}"
    w.client("s3").create_bucket(Bucket=bucket)
    return S3ObjectStore(bucket, w.client("s3"))


@pytest.fixture(params=["sqlite", "dynamodb"])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Ledger:
    if request.param == "sqlite":
        from chalicelib.ledger.sqlite import SqliteLedger

        return SqliteLedger(tmp_path / "ledger.sqlite3")
    from chalicelib.ledger.dynamodb import DynamoDBLedger, create_tables

    w: World = request.getfixturevalue("moto_world")
    n = next(_counter)
    create_tables(w.client("dynamodb"), f"runs-{n}", f"state-{n}")
    return DynamoDBLedger(f"runs-{n}", f"state-{n}", w.client("dynamodb"))


# -- object store ------------------------------------------------------------------------------
def test_put_head_get(store: ObjectStore) -> None:
    info = store.put("runs/r/manifest.json", b"{}", metadata={"records": "2"})
    assert info.etag == hashlib.md5(b"{}").hexdigest() and info.size == 2
    head = store.head("runs/r/manifest.json")
    assert head is not None and (head.etag, head.size, head.metadata) == (info.etag, 2, {"records": "2"})
    assert store.get("runs/r/manifest.json") == b"{}" and store.exists("runs/r/manifest.json")


def test_streamed_write_is_published_whole_on_clean_exit_only(store: ObjectStore) -> None:
    with store.open_write("runs/r/results/t/00000.jsonl.gz", metadata={"records": "1"}) as f:
        f.write(b"abc")
        f.write(b"def")
        assert store.head("runs/r/results/t/00000.jsonl.gz") is None
    head = store.head("runs/r/results/t/00000.jsonl.gz")
    assert head is not None and head.etag == hashlib.md5(b"abcdef").hexdigest()
    assert head.metadata == {"records": "1"}
    with pytest.raises(ValueError), store.open_write("runs/r/results/t/00001.jsonl.gz") as f:
        f.write(b"partial")
        raise ValueError("worker died")
    assert store.head("runs/r/results/t/00001.jsonl.gz") is None


def test_missing_objects(store: ObjectStore) -> None:
    assert store.head("runs/x/none") is None and not store.exists("runs/x/none")
    with pytest.raises(KeyError), store.open_read("runs/x/none"):
        pass
    store.delete("runs/x/none")


def test_list_is_lexical_and_prefix_bound(store: ObjectStore) -> None:
    for key in ("runs/r/chunks/00002.jsonl.gz", "runs/r/chunks/00000.jsonl.gz", "runs/r/manifest.json",
                "runs/r2/chunks/00000.jsonl.gz", "runs/r/chunks/00001.jsonl.gz"):
        store.put(key, b"x")
    assert list(store.list("runs/r/chunks/")) == [f"runs/r/chunks/{i:05d}.jsonl.gz" for i in range(3)]
    assert list(store.list("runs/r/ch")) == [f"runs/r/chunks/{i:05d}.jsonl.gz" for i in range(3)]
    assert list(store.list("runs/none/")) == []
    store.delete("runs/r/chunks/00001.jsonl.gz")
    assert len(list(store.list("runs/r/chunks/"))) == 2


def test_uri_names_the_object(store: ObjectStore) -> None:
    uri = store.uri("runs/r/report.json")
    assert uri.endswith("/runs/r/report.json") and uri.split("://")[0] in ("file", "s3")


# -- ledger ------------------------------------------------------------------------------------
def test_claim_once_and_read_back(ledger: Ledger) -> None:
    rec = RunRecord(run_id="r1", input_key="incoming/2026-11-27/a.jsonl.gz", etag="e1",
                    detail={"t_ingest_start": 1.5, "n": 3})
    assert ledger.claim_run(rec) is True
    assert ledger.claim_run(RunRecord(run_id="r1", input_key="other", etag="e2")) is False
    got = ledger.get_run("r1")
    assert got is not None
    assert (got.input_key, got.etag, got.state, got.detail) == (rec.input_key, "e1", "CLAIMED", rec.detail)
    assert got.created == pytest.approx(rec.created) and ledger.get_run("r2") is None


def test_update_merges_detail(ledger: Ledger) -> None:
    ledger.claim_run(RunRecord(run_id="r", input_key="k", etag="e", detail={"a": 1, "b": {"x": 1}}))
    rec = ledger.update_run("r", state="RUNNING", detail={"b": {"y": 2}, "c": [1, "two"]})
    assert rec.state == "RUNNING" and rec.detail == {"a": 1, "b": {"y": 2}, "c": [1, "two"]}
    rec = ledger.update_run("r", state="SUCCEEDED", verdict="ok", ended=time.time())
    assert (rec.state, rec.verdict) == ("SUCCEEDED", "ok") and rec.ended is not None
    assert ledger.get_run("r").detail == rec.detail  # type: ignore[union-attr]
    with pytest.raises(KeyError):
        ledger.update_run("missing", state="FAILED")
    with pytest.raises(ValueError):
        ledger.update_run("r", colour="blue")


def test_reopen_starts_exactly_one_next_attempt_and_keeps_the_last(ledger: Ledger) -> None:
    ledger.claim_run(RunRecord(run_id="r", input_key="k", etag="e"))
    ledger.update_run("r", state="FAILED", verdict="failed", ended=time.time(), detail={"x": 1})
    first = {"attempt": 1, "execution": "r", "verdict": "failed"}
    assert ledger.reopen_run("r", attempt=2, execution="r-r1", previous=first) is True
    # A second retrier racing for the same attempt loses; one skipping ahead too.
    assert ledger.reopen_run("r", attempt=2, execution="r-r1", previous=first) is False
    assert ledger.reopen_run("r", attempt=4, execution="r-r3", previous=first) is False
    run = ledger.get_run("r")
    assert run is not None and run.state == "RUNNING" and run.verdict is None and run.ended is None
    assert run.detail == {"x": 1, "attempt": 2, "execution": "r-r1", "attempts": [first]}
    ledger.update_run("r", state="FAILED", verdict="failed")
    second = {"attempt": 2, "execution": "r-r1", "verdict": "failed"}
    assert ledger.reopen_run("r", attempt=3, execution="r-r2", previous=second) is True
    assert ledger.get_run("r").detail["attempts"] == [first, second]  # type: ignore[union-attr]
    ledger.update_run("r", state="SUCCEEDED", verdict="ok")
    assert ledger.reopen_run("r", attempt=4, execution="r-r3", previous=second) is False
    assert ledger.reopen_run("unknown", attempt=2, execution="u-r1", previous=first) is False


def test_list_runs_newest_first_by_state_and_page(ledger: Ledger) -> None:
    for i, state in enumerate(["RUNNING", "FAILED", "RUNNING", "SUCCEEDED", "RUNNING"]):
        ledger.claim_run(RunRecord(run_id=f"r{i}", input_key="k", etag="e", created=1000.0 + i))
        if state != "CLAIMED":
            ledger.update_run(f"r{i}", state=state)
    assert [r.run_id for r in ledger.list_runs()] == ["r4", "r3", "r2", "r1", "r0"]
    assert [r.run_id for r in ledger.list_runs(state="RUNNING")] == ["r4", "r2", "r0"]
    assert [r.run_id for r in ledger.list_runs(limit=2)] == ["r4", "r3"]
    assert [r.run_id for r in ledger.list_runs(before=1003.0, limit=2)] == ["r2", "r1"]
    assert [r.run_id for r in ledger.list_runs(state="RUNNING", before=1002.0)] == ["r0"]


def test_state_documents(ledger: Ledger) -> None:
    assert ledger.get_state("crawl", "https://a.example/feed") is None
    ledger.put_state("crawl", "https://b.example/feed", {"etag": "x", "seen": [1, 2]})
    ledger.put_state("crawl", "https://a.example/feed", {"etag": "y", "ratio": 0.5})
    ledger.put_state("crawl", "https://a.example/feed", {"etag": "z", "ratio": 0.25})
    ledger.put_state("other", "k", {})
    assert ledger.get_state("crawl", "https://a.example/feed") == {"etag": "z", "ratio": 0.25}
    assert ledger.list_state("crawl") == [("https://a.example/feed", {"etag": "z", "ratio": 0.25}),
                                          ("https://b.example/feed", {"etag": "x", "seen": [1, 2]})]
