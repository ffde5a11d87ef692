"""Alert subjects: one line of printable ASCII, at most 100 characters, on every path (SNS
refuses anything else, and then no alert goes out at all)."""

from __future__ import annotations

import pytest

from chalicelib.alerts.base import Alert, fit_subject
from chalicelib.alerts.sns import sns_subject
from chalicelib.contract import keys
from chalicelib.steps.cleanup import failure_subject
from tests.conftest import fake_task
from tests.pipeline_support import article, jsonl_gz, put_incoming

LONG_BATCH = "quarterly-results-" + "x" * 182  # a 200-character batch name
LONG_TASK = "t" + "a" * 39  # the longest task name the config allows


def _sns_ok(subject: str) -> bool:
    return 0 < len(subject) <= 100 and subject.isascii() and subject.isprintable() and subject[0] != " "


@pytest.mark.parametrize("text", [
    "x" * 300, "line one\nline two\r\n\tthree", "ctrl\x00\x07\x1b[31m red\x7f", "日本語のバッチ " * 20,
    "", " \n ", "\u200b zero width"])
def test_sns_subject_is_always_publishable(text: str) -> None:
    subject = sns_subject(text)
    assert _sns_ok(subject), repr(subject)


def test_fit_keeps_the_tail_whole_and_cuts_the_text() -> None:
    rid = "r" * 61
    subject = fit_subject("newsops run FAILED at task " + "a" * 40, f": {rid}")
    assert len(subject) == 100 and subject.endswith(f"...: {rid}")
    assert fit_subject("short", ": id") == "short: id"
    assert Alert(subject="s" * 300, severity="info", reason="r").subject == "s" * 97 + "..."


def test_the_failure_subject_of_the_longest_ids_fits() -> None:
    key = f"incoming/2026-11-27/{LONG_BATCH}.jsonl.gz"
    for rid in (keys.run_id(key, "e"), keys.replay_run_id(key, "e", LONG_TASK, "v1")):
        subject = failure_subject(f"task {LONG_TASK}", rid)
        assert _sns_ok(subject) and subject.endswith(f": {rid}"), subject
    assert failure_subject("verify", "batch-0123") == "newsops run FAILED at verify: batch-0123"


def test_a_failed_local_run_of_a_200_character_batch_alerts_with_its_whole_run_id(make_runtime, monkeypatch):
    monkeypatch.setenv("NEWSOPS_FAKE_MODE", "fail")
    monkeypatch.setenv("NEWSOPS_FAKE_TASK", LONG_TASK)
    rt = make_runtime(tasks=[fake_task(LONG_TASK, attempts=1)], chunk_size=5)
    _, rid = put_incoming(rt, f"{LONG_BATCH}.jsonl.gz", jsonl_gz([article(i) for i in range(6)]))
    assert rt.ledger.get_run(rid).state == "FAILED"
    [alert] = [a for a in rt.alerts.read() if a["severity"] == "error"]
    assert alert["stage"] == f"task {LONG_TASK}" and alert["run_id"] == rid
    subject = alert["subject"]
    assert _sns_ok(subject) and subject.startswith("newsops run FAILED at task t") and subject.endswith(f": {rid}")
