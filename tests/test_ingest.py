import gzip
import json

import pytest

from chalicelib.contract import keys
from chalicelib.contract.schema import RunManifest
from chalicelib.jsonl import decode
from tests.conftest import fake_task
from tests.pipeline_support import article, deliver_event, jsonl_gz, put_incoming, runs_tree


def _no_tasks_started(rt):
    return [j for j in rt.compute.list_jobs(states=("SUCCEEDED", "FAILED", "RUNNING", "RUNNABLE"))]


def test_valid_input_is_split_validated_and_quarantined(make_runtime):
    rt = make_runtime(chunk_size=4)
    records = [article(i) for i in range(10)]
    records.insert(3, {"url": "https://news.example/x", "title": "no body"})
    records.insert(5, b"{not json")
    records.insert(7, {"url": "ftp://bad", "title": "t", "body": "b"})
    records.insert(8, [1, 2])
    records.append(article(2))  # duplicate id
    key, rid = put_incoming(rt, "b1.jsonl.gz", jsonl_gz(records))
    manifest = RunManifest.model_validate_json(rt.store.get(keys.manifest(rid)))
    assert manifest.articles == {"input": 15, "valid": 10, "quarantined": 5}
    assert [c.records for c in manifest.chunks] == [4, 4, 2]
    assert manifest.input.key == key and manifest.code_version
    chunk0 = decode(rt.store.get(keys.chunk(rid, 0)))
    assert chunk0[0]["id"] == keys.article_id("https://news.example/0")
    q = [json.loads(x) for x in rt.store.get(keys.ingest_quarantine(rid)).splitlines()]
    reasons = [r["reason"] for r in q]
    assert len(q) == 5
    assert any("body" in r and "Field required" in r for r in reasons)
    assert any(r.startswith("invalid JSON") for r in reasons)
    assert any("url" in r for r in reasons)
    assert any("duplicate article id" in r for r in reasons)
    assert q[1]["record"] == "{not json"  # the raw line is kept: nothing is lost
    assert rt.ledger.get_run(rid).state == "SUCCEEDED"


@pytest.mark.parametrize("data,reason", [
    (b"url,title\nhttp://x,y\n", "not gzip"),
    (gzip.compress(b"a,b,c\n1,2,3\n"), "not JSON lines"),
    (gzip.compress(b"{}" * 1000)[:-20], "truncated"),
    (gzip.compress(b""), "empty"),
])
def test_unusable_input_is_rejected_with_one_alert_and_no_run(make_runtime, data, reason):
    rt = make_runtime()
    key, rid = put_incoming(rt, "bad.jsonl.gz", data)
    run = rt.ledger.get_run(rid)
    assert run.state == "FAILED" and run.verdict == "rejected"
    assert reason in run.detail["rejected"]
    assert rt.store.get(run.detail["rejected_key"]) == data  # kept, byte for byte
    assert run.detail["rejected_key"].startswith("rejected/")
    assert list(rt.store.list(keys.run_prefix(rid))) == []
    alerts = rt.alerts.read()
    assert len(alerts) == 1 and alerts[0]["stage"] == "ingest" and reason in alerts[0]["reason"]
    assert rt.workflow.describe(rid) is None


def test_duplicate_event_changes_nothing(make_runtime):
    rt = make_runtime(chunk_size=3)
    key, rid = put_incoming(rt, "dup.jsonl.gz", jsonl_gz([article(i) for i in range(7)]))
    before = runs_tree(rt, rid)
    assert before and rt.ledger.get_run(rid).state == "SUCCEEDED"
    jobs_before = len(list((rt.settings.home / "jobs").iterdir()))
    payload = deliver_event(rt, key)
    assert payload == {"run_id": rid, "status": "duplicate", "reason": "run already claimed"}
    assert runs_tree(rt, rid) == before
    assert len(list((rt.settings.home / "jobs").iterdir())) == jobs_before


def test_chunk_size_grows_to_keep_chunk_count_under_the_limit(make_runtime):
    rt = make_runtime(chunk_size=2, max_chunks=3)
    # A tiny input looks "big" for these limits, so ingest counts lines first.
    key, rid = put_incoming(rt, "many.jsonl.gz", jsonl_gz([article(i) for i in range(10)]))
    manifest = RunManifest.model_validate_json(rt.store.get(keys.manifest(rid)))
    assert manifest.chunk_size == 4 and len(manifest.chunks) == 3


def test_a_key_outside_incoming_is_ignored(make_runtime):
    rt = make_runtime()
    rt.store.put("other/x.jsonl.gz", jsonl_gz([article(1)]))
    assert deliver_event(rt, "other/x.jsonl.gz")["status"] == "ignored"
    assert rt.ledger.list_runs() == []


def test_single_chunk_runs_as_a_plain_job_and_many_as_an_array(make_runtime):
    rt = make_runtime(tasks=[fake_task("a"), fake_task("b")], chunk_size=5)
    _, one = put_incoming(rt, "one.jsonl.gz", jsonl_gz([article(i) for i in range(3)]))
    _, many = put_incoming(rt, "many.jsonl.gz", jsonl_gz([article(i) for i in range(12)]))
    sizes = {}
    for f in (rt.settings.home / "jobs").iterdir():
        doc = json.loads(f.read_text())
        sizes[doc["name"]] = sum(doc["children"].values())
    assert sizes == {f"{one}-a": 1, f"{one}-b": 1, f"{many}-a": 3, f"{many}-b": 3}


def test_chunk_lines_keep_unknown_fields_and_carry_derived_ids(make_runtime):
    rt = make_runtime(chunk_size=10)
    records = [article(1, extra={"tags": ["a"]}), article(2, id=None), article(3, id="given-3"),
               {**article(4), "language": None}]
    del records[0]["language"]
    _, rid = put_incoming(rt, "fields.jsonl.gz", jsonl_gz(records))
    lines = decode(rt.store.get(keys.chunk(rid, 0)))
    assert lines[0]["extra"] == {"tags": ["a"]} and lines[0]["language"] == "en"
    assert lines[0]["id"] == keys.article_id("https://news.example/1")
    assert lines[1]["id"] == keys.article_id("https://news.example/2")
    assert lines[2]["id"] == "given-3"
    assert lines[3]["language"] == "en"


def test_a_missing_registry_model_blocks_the_run_without_using_up_its_id(make_runtime):
    rt = make_runtime(tasks=[fake_task("t", model="registry:t", model_version="prod")])
    key, rid = put_incoming(rt, "m.jsonl.gz", jsonl_gz([article(1)]))
    assert rt.ledger.get_run(rid) is None  # not claimed: it can start once the model exists
    alerts = rt.alerts.read()
    assert len(alerts) == 1 and "blocked" in alerts[0]["subject"] and alerts[0]["run_id"] == rid


def test_a_claim_whose_ingest_died_is_taken_over_after_the_lease(make_runtime):
    """An ingest that dies while splitting (timeout, out of memory) leaves its run CLAIMED:
    a redelivery within the lease is a duplicate; the verifier reports the run once the lease
    is over; then a redelivery or `newsops run` takes the claim over and the run completes.

    The lease runs on the runtime's clock: the test moves it instead of back-dating the claim."""
    import hashlib
    from datetime import UTC, datetime

    from chalicelib.clock import ManualClock
    from chalicelib.ledger.base import RunRecord
    from chalicelib.ops.verifier import run_verifier
    from chalicelib.settings import OpsSettings
    from tests.ops.support import alerts_of

    clock = ManualClock(datetime(2031, 3, 1, 9, 0, tzinfo=UTC))
    rt = make_runtime(chunk_size=3, ingest_lease_s=600, clock=clock)
    data = jsonl_gz([article(i) for i in range(7)])
    key = "incoming/2026-11-27/died.jsonl.gz"
    rid = keys.run_id(key, hashlib.md5(data).hexdigest())  # the local etag, as S3's
    claimed_at = clock.now()
    assert rt.ledger.claim_run(RunRecord(rid, key, "e", created=claimed_at, updated=claimed_at))

    clock.advance(60)  # a minute later: its ingest may still be splitting
    put_key, put_rid = put_incoming(rt, "died.jsonl.gz", data)  # the put delivers the event
    assert (put_key, put_rid) == (key, rid)
    assert rt.ledger.get_run(rid).state == "CLAIMED" and runs_tree(rt, rid) == {}
    ops = OpsSettings(alert_cooldown_s=6 * 3600, freshness_window_s=24 * 3600)
    assert run_verifier(rt, ops=ops).verdict == "ok"
    clock.advance(539)  # the lease is not over yet: still the claimer's
    assert deliver_event(rt, key)["status"] == "duplicate"
    assert run_verifier(rt, ops=ops).verdict == "ok"

    clock.advance(2)  # 601 s after the claim: the lease is over
    later = run_verifier(rt, ops=ops)
    assert later.verdict == "problems"
    assert alerts_of(rt, f"run-stuck:{rid}") == [("error", f"newsops run claimed but never started: {rid}")]
    # The next delivery (or `newsops run KEY`) takes the claim over.
    payload = deliver_event(rt, key)
    assert payload["status"] == "started"
    run = rt.ledger.get_run(rid)
    assert run.state == "SUCCEEDED" and run.detail["articles"]["valid"] == 7
    assert run.created == claimed_at and run.ended == clock.now()  # every stamp on that clock
    assert deliver_event(rt, key)["status"] == "duplicate"  # and exactly once from then on
    clock.advance(3600)
    run_verifier(rt, ops=ops)
    assert [s for s, _ in alerts_of(rt, f"run-stuck:{rid}")] == ["error", "resolved"]


def test_an_error_before_the_run_started_frees_the_claim_for_the_events_retry(make_runtime):
    """A transient error of Step Functions (or S3, or the ledger) fails the ingest invocation;
    Lambda retries it. The retry must start the run, not stop at "already claimed"."""
    rt = make_runtime(chunk_size=3)
    start = rt.workflow.start
    calls = []

    def throttled_once(run_id, payload):
        calls.append(run_id)
        if len(calls) == 1:
            raise RuntimeError("ThrottlingException: Rate exceeded")
        return start(run_id, payload)

    rt.workflow.start = throttled_once
    data = jsonl_gz([article(i) for i in range(7)])
    with pytest.raises(RuntimeError, match="Rate exceeded"):
        put_incoming(rt, "throttled.jsonl.gz", data)
    key = "incoming/2026-11-27/throttled.jsonl.gz"
    rid = keys.run_id(key, rt.store.head(key).etag)
    run = rt.ledger.get_run(rid)
    assert run.state == "CLAIMED" and run.detail["ingest_failed_attempt"].startswith("RuntimeError: Throttling")
    assert rt.workflow.describe(rid) is None

    payload = deliver_event(rt, key)  # the invocation's retry
    assert payload["status"] == "started"
    assert rt.ledger.get_run(rid).state == "SUCCEEDED" and len(calls) == 2
    assert deliver_event(rt, key)["status"] == "duplicate"
