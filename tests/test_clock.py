"""Time is an input: the clock module, and the checks that compare a stamp with "now" read the
runtime's clock, so a test moves that clock instead of writing a date the real one overtakes."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.api.status import health, status
from chalicelib.clock import SYSTEM_CLOCK, ManualClock, SystemClock
from chalicelib.crawl.crawler import crawl
from chalicelib.crawl.sources import SourcesConfig
from chalicelib.ops.verifier import run_verifier
from chalicelib.settings import OpsSettings
from tests.ops.support import alerts_of, crawl_doc

# Years away from the real clock on purpose: a check that still read the system clock would
# see every stamp below as far in the future and never report it stale.
T0 = datetime(2031, 3, 1, 9, 0, tzinfo=UTC)
HOUR = 3600
OPS = OpsSettings(alert_cooldown_s=6 * HOUR, freshness_window_s=24 * HOUR)


def test_the_system_clock_is_the_wall_clock() -> None:
    before = time.time()
    now = SYSTEM_CLOCK.now()
    assert before <= now <= time.time()
    utc = SystemClock().utcnow()
    assert utc.tzinfo is UTC and abs(utc.timestamp() - time.time()) < 5


def test_a_manual_clock_moves_only_when_told() -> None:
    clock = ManualClock(T0)
    assert clock.now() == T0.timestamp() and clock.utcnow() == T0
    assert clock.now() == clock.now()  # no drift between two readings
    assert clock.advance(90) == T0.timestamp() + 90
    assert clock.utcnow() == T0 + timedelta(seconds=90)
    clock.set(T0 - timedelta(days=1))
    assert clock.utcnow() == T0 - timedelta(days=1)
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)
    with pytest.raises(ValueError, match="naive"):
        ManualClock(datetime(2031, 3, 1))  # naive on purpose


def test_a_runtime_reads_the_system_clock_unless_given_one(make_runtime) -> None:
    rt = make_runtime()
    assert rt.clock is SYSTEM_CLOCK
    assert abs(health(rt)[0].time - time.time()) < 5


def test_every_adapter_of_a_runtime_stamps_with_its_clock(make_runtime) -> None:
    clock = ManualClock(T0)
    rt = make_runtime(clock=clock)
    assert rt.ledger.clock is clock and rt.compute.clock is clock and rt.workflow.clock is clock
    rt.ledger.put_state("ns", "k", {"v": 1})
    with rt.ledger._conn() as c:  # noqa: SLF001 - the stamp is not part of the port
        [(updated,)] = c.execute("SELECT updated FROM state WHERE namespace = 'ns'").fetchall()
    assert updated == T0.timestamp()
    assert health(rt)[0].time == T0.timestamp() and status(rt).time == T0.timestamp()


def test_the_verifier_sees_a_crawl_go_stale_on_the_injected_clock(make_runtime) -> None:
    """The crawler stamps its report from the runtime's clock; advancing that clock past the
    freshness window, and nothing else, turns the verdict from ok to "crawler stopped"."""
    clock = ManualClock(T0)
    rt = make_runtime(clock=clock)
    report = crawl(rt, SourcesConfig(), budget_s=5)
    assert report.started == T0.isoformat() and report.crawl_id.startswith("crawl-20310301T090000Z-")
    finished = datetime.fromisoformat(report.finished or "")
    assert T0 <= finished < T0 + timedelta(seconds=5)  # its own timeline: started + its seconds

    clock.advance(OPS.freshness_window_s - 60)
    assert run_verifier(rt, ops=OPS).verdict == "ok"
    assert alerts_of(rt, "crawl-stopped:") == []
    clock.advance(HOUR + 60)
    verdict = run_verifier(rt, ops=OPS)
    assert verdict.verdict == "problems" and verdict.time == clock.now()
    assert alerts_of(rt, "crawl-stopped:") == [("error", "newsops crawler stopped: no crawl for 25.0h")]


def test_a_source_goes_stale_on_the_injected_clock_and_recovers(make_runtime) -> None:
    clock = ManualClock(T0)
    rt = make_runtime(clock=clock)

    def crawled(new: dict[str, int]) -> None:
        when = clock.utcnow().isoformat()
        rt.ledger.put_state("crawl-report", f"{when}-c", crawl_doc(f"{when}-c", when, new))

    crawled({"Harbor Ledger": 2, "Granite Wire": 1})
    for _ in range(25):  # hourly crawls; Granite Wire brings nothing new after the first
        clock.advance(HOUR)
        crawled({"Harbor Ledger": 2, "Granite Wire": 0})
        run_verifier(rt, ops=OPS)
    fresh = {s.source: s for s in status(rt).sources}
    assert fresh["Granite Wire"].stale and fresh["Granite Wire"].age_s == 25 * HOUR
    assert not fresh["Harbor Ledger"].stale and fresh["Harbor Ledger"].age_s == 0
    assert alerts_of(rt, "source-stale:") == [("warning", "newsops source stale: Granite Wire")]
    clock.advance(HOUR)
    crawled({"Harbor Ledger": 1, "Granite Wire": 3})
    assert run_verifier(rt, ops=OPS).verdict == "ok"
    assert [s for s, _ in alerts_of(rt, "source-stale:")] == ["warning", "resolved"]
