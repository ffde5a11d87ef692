"""Alert once, remind after the cool-down, resolve once: the rules that stop an hourly alert storm."""

from __future__ import annotations

from pathlib import Path

import pytest

from chalicelib.alerts.base import Alert, AlertSink
from chalicelib.ledger.sqlite import SqliteLedger
from chalicelib.ops.findings import Finding, FindingStore


class Inbox(AlertSink):
    def __init__(self) -> None:
        self.alerts: list[Alert] = []
        self.fail = False

    def publish(self, alert: Alert) -> None:
        if self.fail:
            raise ConnectionError("topic unreachable")
        self.alerts.append(alert)


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
def store(tmp_path: Path, inbox: Inbox) -> FindingStore:
    return FindingStore(SqliteLedger(tmp_path / "l.sqlite3"), inbox, cooldown_s=3600)


def problem(fid: str = "a", check: str = "c", **kw) -> Finding:
    return Finding(id=f"{check}:{fid}", check=check, subject=f"problem {fid}", reason="because", **kw)


def test_one_alert_then_silence_then_a_reminder_after_the_cooldown_then_one_resolved(store, inbox):
    assert store.reconcile([problem()], checks={"c"}, now=0).opened == ["c:a"]
    for t in (60, 1800, 3599):
        assert store.reconcile([problem()], checks={"c"}, now=t).alerts_sent == 0
    assert store.reconcile([problem()], checks={"c"}, now=3600).reminded == ["c:a"]
    assert store.reconcile([problem()], checks={"c"}, now=3700).alerts_sent == 0
    assert store.reconcile([], checks={"c"}, now=4000).resolved == ["c:a"]
    assert store.reconcile([], checks={"c"}, now=5000).alerts_sent == 0
    assert [a.severity for a in inbox.alerts] == ["error", "error", "resolved"]
    assert inbox.alerts[1].subject.startswith("newsops STILL OPEN:")
    assert inbox.alerts[2].subject == "newsops RESOLVED: problem a"
    assert inbox.alerts[0].details["finding"] == "c:a"
    assert store.get("c:a").status == "resolved"
    # The same problem coming back is news again.
    assert store.reconcile([problem()], checks={"c"}, now=6000).opened == ["c:a"]


def test_only_the_checks_of_the_pass_and_what_it_covers_can_resolve(store, inbox):
    store.reconcile([problem("x", "one"), problem("y", "two", run_id="r1"), problem("z", "two", run_id="r2")],
                    checks={"one", "two"}, now=0)
    assert store.reconcile([], checks={"two"}, covers=lambda f: f.run_id == "r1", now=10).resolved == ["two:y"]
    assert {f.id for f in store.open()} == {"one:x", "two:z"}


def test_a_failing_sink_loses_nothing(store, inbox):
    inbox.fail = True
    out = store.reconcile([problem()], checks={"c"}, now=0)
    assert out.publish_failed == ["c:a"] and out.opened == []
    inbox.fail = False
    assert store.reconcile([problem()], checks={"c"}, now=10).opened == ["c:a"]
    inbox.fail = True
    assert store.reconcile([], checks={"c"}, now=20).resolved == []
    assert store.get("c:a").status == "open"
    inbox.fail = False
    assert store.reconcile([], checks={"c"}, now=30).resolved == ["c:a"]
    assert [a.severity for a in inbox.alerts] == ["error", "resolved"]


def test_already_alerted_and_one_shot_findings(store, inbox):
    told = problem("told", already_alerted=True, repeat=False, notify_resolved=False)
    once = problem("once", repeat=False, notify_resolved=False)
    store.reconcile([told, once], checks={"c"}, now=0)
    store.reconcile([told, once], checks={"c"}, now=10 * 3600)
    out = store.reconcile([], checks={"c"}, now=20 * 3600)
    assert sorted(out.closed_silently) == ["c:once", "c:told"]
    assert [a.subject for a in inbox.alerts] == ["newsops problem once"]
