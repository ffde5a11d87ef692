from concurrent.futures import ThreadPoolExecutor

import pytest

from chalicelib.ledger.base import RunRecord
from chalicelib.ledger.sqlite import SqliteLedger


def test_only_one_claim_wins_even_concurrently(tmp_path):
    ledger = SqliteLedger(tmp_path / "l.sqlite3")

    def claim(_: int) -> bool:
        return SqliteLedger(tmp_path / "l.sqlite3").claim_run(RunRecord("r1", "incoming/x", "e"))

    with ThreadPoolExecutor(8) as pool:
        wins = list(pool.map(claim, range(16)))
    assert wins.count(True) == 1
    assert ledger.get_run("r1").state == "CLAIMED"


def test_update_merges_detail_and_lists_newest_first(tmp_path):
    ledger = SqliteLedger(tmp_path / "l.sqlite3")
    ledger.claim_run(RunRecord("a", "k", "e", created=1.0))
    ledger.claim_run(RunRecord("b", "k", "e", created=2.0))
    ledger.update_run("a", state="RUNNING", detail={"x": 1})
    rec = ledger.update_run("a", detail={"y": 2})
    assert rec.detail == {"x": 1, "y": 2} and rec.state == "RUNNING"
    assert [r.run_id for r in ledger.list_runs()] == ["b", "a"]
    assert [r.run_id for r in ledger.list_runs(state="RUNNING")] == ["a"]
    assert [r.run_id for r in ledger.list_runs(before=2.0)] == ["a"]
    with pytest.raises(KeyError):
        ledger.update_run("nope", state="FAILED")
    with pytest.raises(ValueError):
        ledger.update_run("a", bogus=1)


def test_state_documents(tmp_path):
    ledger = SqliteLedger(tmp_path / "l.sqlite3")
    assert ledger.get_state("crawl", "feed1") is None
    ledger.put_state("crawl", "feed1", {"etag": "x"})
    ledger.put_state("crawl", "feed1", {"etag": "y"})
    ledger.put_state("crawl", "feed2", {"etag": "z"})
    assert ledger.get_state("crawl", "feed1") == {"etag": "y"}
    assert [k for k, _ in ledger.list_state("crawl")] == ["feed1", "feed2"]


def test_only_a_stale_unstarted_claim_is_taken_over_and_by_one_taker(tmp_path):
    ledger = SqliteLedger(tmp_path / "l.sqlite3")
    ledger.claim_run(RunRecord("old", "k", "e", created=100.0, updated=100.0))
    ledger.claim_run(RunRecord("young", "k", "e", created=900.0, updated=900.0))
    ledger.claim_run(RunRecord("started", "k", "e", created=100.0, updated=100.0))
    ledger.update_run("started", state="RUNNING")

    def take(_: int) -> bool:
        return SqliteLedger(tmp_path / "l.sqlite3").take_over_claim("old", claimed_before=500.0)

    with ThreadPoolExecutor(8) as pool:
        wins = list(pool.map(take, range(16)))
    assert wins.count(True) == 1
    assert ledger.get_run("old").updated > 500.0  # renewed: the next taker waits a lease again
    assert ledger.take_over_claim("young", claimed_before=500.0) is False
    assert ledger.take_over_claim("started", claimed_before=10**12) is False
    assert ledger.take_over_claim("unknown", claimed_before=10**12) is False


def test_a_released_claim_is_free_at_once_and_a_finished_run_is_never_released(tmp_path):
    ledger = SqliteLedger(tmp_path / "l.sqlite3")
    for rid, state in (("claimed", None), ("running", "RUNNING"), ("done", "SUCCEEDED")):
        ledger.claim_run(RunRecord(rid, "k", "e"))
        if state:
            ledger.update_run(rid, state=state)
    assert ledger.take_over_claim("claimed", claimed_before=1.0) is False  # fresh: a duplicate
    assert ledger.release_claim("claimed") and ledger.release_claim("running")
    assert ledger.get_run("running").state == "CLAIMED"
    assert ledger.take_over_claim("running", claimed_before=1.0) is True
    assert ledger.release_claim("done") is False and ledger.get_run("done").state == "SUCCEEDED"
    assert ledger.release_claim("unknown") is False
