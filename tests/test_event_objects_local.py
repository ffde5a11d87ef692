"""The object an event names is the object a run reads (local backend, real store and workflow).

- Keys are taken from the event as they are: a "+", a space, a "%" or non-ASCII letters in a
  batch name reach the run unchanged (S3's EventBridge events do not URL-encode keys).
- Ingest reads the version the event names: when the object was overwritten between the event
  and the read, the old event's run fails clearly, and the new bytes never run under its id.
"""

from __future__ import annotations

import pytest

from chalicelib.contract import keys
from chalicelib.contract.schema import RunManifest
from chalicelib.schema import RunReport
from chalicelib.steps.ingest import handle_event
from chalicelib.store.base import ObjectChanged, ObjectInfo, md5_etag
from chalicelib.store.events import object_created_event, object_from_event
from chalicelib.store.local import LocalObjectStore
from tests.conftest import fake_task
from tests.pipeline_support import article, deliver_event, jsonl_gz, put_incoming

AWKWARD_NAMES = ["a+b.jsonl.gz", "two words.jsonl.gz", "100%25 sure%.jsonl.gz",
                 "Zürich-日本語 ünïcode.jsonl.gz", "plus+ and space %41.jsonl.gz"]


def test_the_event_key_is_the_object_key_unchanged() -> None:
    for name in AWKWARD_NAMES:
        key = f"incoming/2026-11-27/{name}"
        event = object_created_event("bucket", ObjectInfo(key=key, size=1, etag="e"))
        assert object_from_event(event)[1] == key


@pytest.mark.parametrize("name", AWKWARD_NAMES)
def test_awkward_batch_names_run_end_to_end(make_runtime, name: str) -> None:
    rt = make_runtime(tasks=[fake_task("alpha")], chunk_size=5)
    key, rid = put_incoming(rt, name, jsonl_gz([article(i) for i in range(7)]))
    report = RunReport.model_validate_json(rt.store.get(keys.report(rid)))
    assert report.verdict == "ok", report.problems
    manifest = RunManifest.model_validate_json(rt.store.get(keys.manifest(rid)))
    assert manifest.input.key == key and manifest.articles["valid"] == 7
    # The same event again names the same object: one run per object, not "object is gone".
    assert deliver_event(rt, key) == {"run_id": rid, "status": "duplicate", "reason": "run already claimed"}


def test_pinned_local_read_refuses_other_bytes(tmp_path) -> None:
    store = LocalObjectStore(tmp_path)
    first = store.put("incoming/x.jsonl.gz", b"first")
    with store.open_read("incoming/x.jsonl.gz", etag=first.etag) as f:
        assert f.read() == b"first"
    store.put("incoming/x.jsonl.gz", b"second")
    with pytest.raises(ObjectChanged, match="replaced"), store.open_read("incoming/x.jsonl.gz", etag=first.etag):
        pass
    # A file copied in by hand has no sidecar: its etag is computed from the bytes themselves.
    (tmp_path / "incoming" / "hand.jsonl.gz").write_bytes(b"by hand")
    with store.open_read("incoming/hand.jsonl.gz", etag=md5_etag(b"by hand")) as f:
        assert f.read() == b"by hand"
    with pytest.raises(ObjectChanged), store.open_read("incoming/hand.jsonl.gz", etag=first.etag):
        pass


def test_an_object_overwritten_after_its_event_never_runs_under_the_old_id(make_runtime) -> None:
    rt = make_runtime(tasks=[fake_task("alpha")], chunk_size=5)
    key = "incoming/2026-11-27/rewritten.jsonl.gz"
    old_bytes = jsonl_gz([article(i) for i in range(3)])
    new_bytes = jsonl_gz([article(i) for i in range(100, 108)])
    # The event of the first version, as S3 sent it; then the object is replaced before ingest
    # reads it (the replacement's own put delivers its own event and starts its own run).
    old_event = object_created_event(rt.store.bucket, ObjectInfo(key=key, size=len(old_bytes),
                                                                 etag=md5_etag(old_bytes)))
    new_info = rt.store.put(key, new_bytes)
    new_rid = keys.run_id(key, new_info.etag)
    assert RunReport.model_validate_json(rt.store.get(keys.report(new_rid))).articles["valid"] == 8

    outcome = handle_event(old_event, rt)
    old_rid = keys.run_id(key, md5_etag(old_bytes))
    assert (outcome.run_id, outcome.status) == (old_rid, "rejected")
    assert "replaced before it was read" in outcome.reason
    # Nothing ran under the old id: no manifest, no chunk of the new bytes.
    assert list(rt.store.list(keys.run_prefix(old_rid))) == []
    run = rt.ledger.get_run(old_rid)
    assert run.state == "FAILED" and run.detail["input_replaced"] is True
    assert "replaced before it was read" in run.detail["rejected"]
    [alert] = [a for a in rt.alerts.read() if a.get("run_id") == old_rid]
    assert alert["severity"] == "warning" and "input replaced" in alert["subject"]
    # A redelivery of the old event changes nothing.
    assert handle_event(old_event, rt).status == "duplicate"


def test_an_object_deleted_after_its_event_is_reported_not_ingested(make_runtime) -> None:
    rt = make_runtime(tasks=[fake_task("alpha")], chunk_size=5)
    key = "incoming/2026-11-27/gone.jsonl.gz"
    data = jsonl_gz([article(i) for i in range(3)])
    event = object_created_event(rt.store.bucket, ObjectInfo(key=key, size=len(data), etag=md5_etag(data)))
    outcome = handle_event(event, rt)
    assert outcome.status == "ignored" and outcome.reason == f"object is gone: {key}"
    assert rt.ledger.get_run(keys.run_id(key, md5_etag(data))) is None
