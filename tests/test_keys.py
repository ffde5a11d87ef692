import re

from chalicelib.contract import keys


def test_run_id_is_stable_per_object_version_and_a_valid_execution_name():
    a = keys.run_id("incoming/2026-11-27/batch-001.jsonl.gz", '"abc"')
    assert a == keys.run_id("incoming/2026-11-27/batch-001.jsonl.gz", "abc")
    assert a != keys.run_id("incoming/2026-11-27/batch-001.jsonl.gz", "abd")
    assert a != keys.run_id("incoming/2026-11-28/batch-001.jsonl.gz", "abc")
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,80}", a)
    assert a.startswith("batch-001-")


def test_run_id_of_odd_names_is_still_valid():
    rid = keys.run_id("incoming/x/ünïcode name with spaces & stuff.jsonl.gz", "e")
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,80}", rid)


def test_canonical_url_drops_tracking_and_fragment():
    a = keys.canonical_url("HTTPS://News.Example.com:443/a/b?utm_source=x&id=3&fbclid=9#top")
    assert a == "https://news.example.com/a/b?id=3"
    assert keys.article_id("https://news.example.com/a/b?id=3&utm_medium=y") == keys.article_id(a)


def test_keys_follow_the_contract():
    assert keys.chunk("r1", 7) == "runs/r1/chunks/00007.jsonl.gz"
    assert keys.result("r1", "embedding", 7) == "runs/r1/results/embedding/00007.jsonl.gz"
    assert keys.task_quarantine("r1", "embedding", 7) == "runs/r1/quarantine/embedding/00007.jsonl"
    assert keys.ingest_quarantine("r1") == "runs/r1/quarantine/ingest.jsonl"
    assert keys.report("r1") == "runs/r1/report.json"
    assert re.fullmatch(r"raw/\d{4}/\d\d/\d\d/[0-9a-f]{64}\.html\.gz",
                        keys.raw_html("https://a.example/x", __import__("datetime").date(2026, 1, 2)))
