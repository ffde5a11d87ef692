"""The reaper: a deliberately orphaned local worker, limits, capacity alerts, and AWS Batch on moto."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from chalicelib.compute.base import ACTIVE_STATES, JobStatus
from chalicelib.ledger.base import RunRecord
from chalicelib.ops.jobs import LocalJobRegistry, run_id_of, task_of
from chalicelib.ops.reaper import reap
from chalicelib.settings import OpsSettings
from tests.ops.support import alerts_of, pid_alive, repo_pythonpath

OPS = OpsSettings(alert_cooldown_s=6 * 3600)
RID = "batch-0123456789abcdef"

OWNER = textwrap.dedent("""
    import json, os, signal, sys, time
    from pathlib import Path
    from chalicelib.compute.base import JobRequest
    from chalicelib.compute.local import LocalCompute

    home = Path(sys.argv[1])
    compute = LocalCompute(home, workers=1)
    job_id = compute.submit(JobRequest(
        name=sys.argv[2] + "-t", queue="local", definition="newsops-t",
        command=[sys.executable, "-c", "import os, time; os.fork(); time.sleep(600)"],
        tags={"newsops-run-id": sys.argv[2], "newsops-task": "t"}))
    registry = home / "jobs" / f"{job_id}.json"
    while not json.loads(registry.read_text())["pgids"]:
        time.sleep(0.02)
    print(job_id, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # the owner dies; its worker group lives on
""")


def _group_members(pgid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[2]) == pgid and stat[0] != "Z":
                out.append(int(entry.name))
    return out


def test_a_deliberately_orphaned_worker_group_is_killed(make_runtime):
    rt = make_runtime()
    home = rt.settings.home.resolve()
    rt.ledger.claim_run(RunRecord(run_id=RID, input_key="incoming/x", etag="e", state="RUNNING"))
    owner = subprocess.run([sys.executable, "-c", OWNER, str(home), RID], capture_output=True, text=True,
                           timeout=30, cwd=Path(__file__).resolve().parents[2],
                           env={**os.environ, "PYTHONPATH": repo_pythonpath()})
    assert owner.returncode == -9, owner.stderr
    job_id = owner.stdout.strip()
    doc = json.loads((home / "jobs" / f"{job_id}.json").read_text())
    [pgid] = doc["pgids"]
    deadline = time.monotonic() + 5
    while len(_group_members(pgid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(_group_members(pgid)) == 2  # the worker and the child it forked
    assert doc["status"] == "RUNNING" and not pid_alive(doc["owner_pid"])

    [job] = LocalJobRegistry(home / "jobs").list_jobs()
    assert job.tags["newsops-orphaned"] == "true" and run_id_of(job) == RID and task_of(job) == "t"
    out = reap(rt, ops=OPS)
    assert [t["reason"] for t in out.terminated] == ["its owner process is gone (orphaned workers)"]
    deadline = time.monotonic() + 5
    while _group_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _group_members(pgid) == []
    assert LocalJobRegistry(home / "jobs").list_jobs() == []  # no worker left: the job is over
    reap(rt, ops=OPS)
    assert [s for s, _ in alerts_of(rt, "job-hung:")] == ["error", "resolved"]


def test_a_local_job_is_timed_on_the_runtimes_clock(make_runtime):
    """The local compute stamps a job's creation with the runtime's clock, and the reaper
    compares it with that clock's now: moving the clock past the limit, not waiting, stops it."""
    from datetime import UTC, datetime

    from chalicelib.clock import ManualClock
    from chalicelib.compute.base import JobRequest
    from tests.conftest import fake_task

    clock = ManualClock(datetime(2031, 3, 1, 9, 0, tzinfo=UTC))
    rt = make_runtime(tasks=[fake_task("t", attempts=1, timeout_s=100)], clock=clock)
    rt.ledger.claim_run(RunRecord(run_id=RID, input_key="incoming/x", etag="e", state="RUNNING",
                                  created=clock.now(), updated=clock.now()))
    job_id = rt.compute.submit(JobRequest(
        name=f"{RID}-t", queue="local", definition="newsops-t", timeout_s=100,
        command=[sys.executable, "-c", "import time; time.sleep(60)"],
        tags={"newsops-run-id": RID, "newsops-task": "t"}))
    deadline = time.monotonic() + 10
    while rt.compute.describe(job_id).status != "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.02)
    assert rt.compute.describe(job_id).created == clock.now()
    clock.advance(100 + rt.settings.queue_wait_s)  # exactly the limit: not over it
    assert reap(rt, ops=OPS).terminated == []
    clock.advance(1)
    out = reap(rt, ops=OPS)
    assert [(t["job_id"], t["reason"]) for t in out.terminated] == [
        (job_id, "running for 131s, over its limit of 130s")]
    assert rt.compute.describe(job_id).status == "FAILED"


def test_a_recycled_pid_is_not_taken_for_the_worker(tmp_path):
    """The registry tells a worker from a later process with its pid by the kernel's start
    time of the process, never by the job's wall-clock times (a test clock, a shifted clock)."""
    from chalicelib.compute.local import process_start_time

    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    try:
        started = process_start_time(proc.pid)
        assert started is not None
        registry = LocalJobRegistry(tmp_path)

        def job(pgid_started: float) -> JobStatus:
            # Its owner is gone (no pid); a live worker group makes it an orphan to stop.
            (tmp_path / "j.json").write_text(json.dumps({
                "job_id": "j", "name": f"{RID}-t", "status": "RUNNING", "created": 0.0,
                "pgids": [proc.pid], "pgid_started": {str(proc.pid): pgid_started}}))
            [found] = registry.list_jobs(states=("RUNNING", "FAILED"))
            return found

        worker = job(started)
        assert worker.status == "RUNNING" and worker.tags["newsops-orphaned"] == "true"
        assert worker.tags["pgids"] == str(proc.pid)
        other = job(started - 10)  # the same pid, but not the process the owner started
        assert other.status == "FAILED" and other.tags["pgids"] == ""
    finally:
        proc.kill()
        proc.wait()


class FakeJobs:
    """A compute backend's job list, to test the rules without processes or AWS."""

    def __init__(self, jobs: list[JobStatus]) -> None:
        self.jobs = {j.job_id: j for j in jobs}
        self.terminated: list[tuple[str, str]] = []

    def list_jobs(self, *, name_prefix: str = "", states: tuple[str, ...] = ACTIVE_STATES) -> list[JobStatus]:
        return [j for j in self.jobs.values() if j.name.startswith(name_prefix) and j.status in states]

    def terminate(self, job_id: str, reason: str) -> None:
        self.terminated.append((job_id, reason))
        self.jobs[job_id].status = "FAILED"


def test_limits_and_waiting_for_capacity(make_runtime):
    from tests.conftest import fake_task

    rt = make_runtime(tasks=[fake_task("t", attempts=2, timeout_s=100)])
    rt.ledger.claim_run(RunRecord(run_id=RID, input_key="incoming/x", etag="e", state="RUNNING"))
    now = 1_900_000_000.0
    limit = 2 * 100 + rt.settings.queue_wait_s  # attempts x timeout + queue allowance
    jobs = FakeJobs([
        JobStatus("young", f"{RID}-t", "RUNNING", created=now - 10),
        JobStatus("old", f"{RID}-t", "RUNNING", created=now - limit - 1),
        JobStatus("waiting1", f"{RID}-t", "RUNNABLE", created=now - rt.settings.queue_wait_s - 5),
        JobStatus("waiting2", f"{RID}-t", "RUNNABLE", created=now - rt.settings.queue_wait_s - 50),
        JobStatus("foreign", "someone-else", "RUNNING", created=now - 10),
    ])
    out = reap(rt, now=now, ops=OPS, jobs=jobs)
    assert [j for j, _ in jobs.terminated] == ["old"]
    assert f"over its limit of {limit}s" in jobs.terminated[0][1]
    assert sorted(out.runnable_too_long) == ["waiting1", "waiting2"]
    queue = alerts_of(rt, "queue-stalled:")
    assert queue == [("warning", "newsops 2 jobs waiting for capacity (RUNNABLE > 30s)")]
    reap(rt, now=now + 60, ops=OPS, jobs=jobs)
    assert len(alerts_of(rt, "queue-stalled:")) == 1
    for j in ("waiting1", "waiting2"):
        jobs.jobs[j].status = "RUNNING"  # capacity arrived
    reap(rt, now=now + 120, ops=OPS, jobs=jobs)
    assert [s for s, _ in alerts_of(rt, "queue-stalled:")] == ["warning", "resolved"]
    assert [s for s, _ in alerts_of(rt, "job-hung:")] == ["error", "resolved"]
    assert rt.ledger.get_state("ops-state", "reaper")["active"] == 4


# -- AWS Batch, through the Batch compute adapter, on moto --------------------------------------
@pytest.fixture
def batch_world(monkeypatch):
    pytest.importorskip("moto")
    from tests.aws.moto_world import World, mocked_aws

    with mocked_aws(monkeypatch, execute=False):
        w = World.create()
        try:
            yield w
        finally:
            w.stop_all()


def _moto_job(job_id: str):
    from moto.batch.models import batch_backends

    from tests.aws.moto_world import ACCOUNT, REGION

    return batch_backends[ACCOUNT][REGION]._jobs[job_id]


def hold_running(job_id: str) -> None:
    """moto's Docker-less Batch finishes a job as it is submitted; put it back to RUNNING."""
    job = _moto_job(job_id)
    job.status = "RUNNING"
    job.job_stopped = False


def test_batch_jobs_of_finished_runs_are_terminated_and_alerted_on_sns(batch_world, tmp_path):
    from chalicelib.alerts.sns import SnsAlertSink
    from chalicelib.compute.base import JobRequest
    from chalicelib.compute.batch import BatchCompute
    from chalicelib.contract.taskconfig import load_tasks
    from chalicelib.ledger.sqlite import SqliteLedger
    from chalicelib.runtime import Runtime

    w = batch_world
    settings = w.settings(queue_wait_s=600)
    compute = BatchCompute(w.queue_arn, w.client("batch"))
    ledger = SqliteLedger(tmp_path / "ledger.sqlite3")
    rt = Runtime(settings=settings, store=None, ledger=ledger,  # type: ignore[arg-type]
                 alerts=SnsAlertSink(w.topic_arn, w.client("sns")), compute=compute,
                 workflow=None, search=None, tasks=load_tasks(None))  # type: ignore[arg-type]
    failed, alive = "failed-00000000000000aa", "alive-00000000000000bb"
    ledger.claim_run(RunRecord(run_id=failed, input_key="incoming/a", etag="a", state="FAILED"))
    ledger.claim_run(RunRecord(run_id=alive, input_key="incoming/b", etag="b", state="RUNNING"))

    def submit(rid: str, task: str) -> str:
        job_id = compute.submit(JobRequest(name=f"{rid}-{task}", queue=w.queue_arn,
                                           definition="newsops-fake", array_size=0, timeout_s=600,
                                           tags={"newsops-run-id": rid, "newsops-task": task}))
        hold_running(job_id)
        return job_id

    orphan, keep = submit(failed, "fake"), submit(alive, "fake")
    out = reap(rt, ops=OPS)
    assert [t["job_id"] for t in out.terminated] == [orphan]
    # moto records the TerminateJob; its Docker-less job already "ran", so Batch's transition
    # to FAILED is played here by hand.
    stopped = _moto_job(orphan)
    assert stopped.stop and stopped.job_stopped_reason.startswith(f"newsops reaper: its run {failed} is FAILED")
    assert not _moto_job(keep).stop
    stopped.status = "FAILED"
    [message] = w.alerts()
    assert message["Subject"] == f"newsops job left running, stopped: {failed}-fake"
    body = json.loads(message["Message"])
    assert body["run_id"] == failed and body["stage"] == "task fake"
    assert body["details"]["job_id"] == orphan
    reap(rt, ops=OPS)
    [resolved] = w.alerts()
    assert resolved["Subject"].startswith("newsops RESOLVED: job left running")
