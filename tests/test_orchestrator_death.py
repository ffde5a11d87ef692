"""A local run survives its orchestrator: `newsops ingest` killed mid-run (kill -9) leaves a run
the verifier reports within the heartbeat window, whose orphaned workers the reaper stops, and
which `newsops run KEY` resumes to the results of an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from chalicelib.clock import ManualClock
from chalicelib.contract import keys
from chalicelib.factory import build_runtime
from chalicelib.ops.reaper import reap
from chalicelib.ops.verifier import run_verifier
from chalicelib.runtime import set_runtime
from chalicelib.settings import Settings
from chalicelib.workflow.base import ORCHESTRATOR_DIED
from newsops.cli import main as cli_main
from tests.conftest import fake_task
from tests.pipeline_support import article, jsonl_gz

REPO = Path(__file__).resolve().parents[1]
TASKS = {"tasks": [fake_task("alpha", attempts=1), fake_task("beta", attempts=1)]}


def _env(home: Path, tasks: Path) -> dict[str, str]:
    return {"NEWSOPS_HOME": str(home), "NEWSOPS_TASKS_FILE": str(tasks), "NEWSOPS_CHUNK_SIZE": "3",
            "NEWSOPS_WORKERS": "2", "NEWSOPS_HEARTBEAT_S": "1", "NEWSOPS_RETRY_INTERVAL_SCALE": "0"}


def _results(home: Path, rid: str) -> dict[str, bytes]:
    root = home / "store" / keys.run_prefix(rid) / "results"
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.jsonl.gz"))}


def test_a_killed_orchestrator_is_reported_within_the_heartbeat_window_and_resumed(
        tmp_path, monkeypatch, capsys):
    batch = tmp_path / "batch.jsonl.gz"
    batch.write_bytes(jsonl_gz([article(i) for i in range(24)]))  # 8 chunks x 2 tasks
    tasks = tmp_path / "tasks.json"
    tasks.write_text(json.dumps(TASKS))

    clean = tmp_path / "clean"
    done = subprocess.run([sys.executable, "-m", "newsops.cli", "ingest", str(batch)], cwd=REPO,
                          env={**os.environ, **_env(clean, tasks)}, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr

    home = tmp_path / "home"
    slow = {**os.environ, **_env(home, tasks), "NEWSOPS_FAKE_SLEEP": "1.5"}
    proc = subprocess.Popen([sys.executable, "-m", "newsops.cli", "ingest", str(batch)], cwd=REPO,
                            env=slow, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    settings = Settings(**{k.removeprefix("NEWSOPS_").lower(): v for k, v in _env(home, tasks).items()})
    deadline = time.monotonic() + 120
    rid = None
    while time.monotonic() < deadline:
        runs = list((home / "store" / "runs").glob("*/results/*/*.jsonl.gz")) if (home / "store").exists() else []
        if len(runs) >= 2:
            rid = runs[0].parts[-4]
            break
        time.sleep(0.1)
    assert rid, "the run never produced a result"
    proc.send_signal(signal.SIGKILL)  # mid-run: some chunks done, others in flight or waiting
    proc.wait(timeout=30)

    rt = build_runtime(settings)
    set_runtime(rt)
    try:
        assert rt.ledger.get_run(rid).state == "RUNNING"
        killed_at = time.monotonic()
        verdict = run_verifier(rt)
        found = [f for f in verdict.open_findings if f["run_id"] == rid]
        assert found and found[0]["subject"] == f"orchestrator died: {rid}", verdict.open_findings
        assert time.monotonic() - killed_at < 3 * settings.heartbeat_s + 5
        assert rt.workflow.describe(rid).error == ORCHESTRATOR_DIED
        # The workers the dead orchestrator left are stopped by the reaper (or already gone).
        reaped = reap(rt)
        assert all(j["terminated"] for j in reaped.terminated)
        for k, v in _env(home, tasks).items():
            monkeypatch.setenv(k, v)
        capsys.readouterr()
        assert cli_main(["run", rt.ledger.get_run(rid).input_key]) == 0
        assert "resuming it" in capsys.readouterr().out
        run = rt.ledger.get_run(rid)
        assert run.state == "SUCCEEDED" and run.attempt == 2
        assert run.detail["attempts"][0]["execution_status"] == "ABORTED"
    finally:
        rt.close()
        set_runtime(None)
    clean_rid = next((clean / "store" / "runs").iterdir()).name
    assert rid == clean_rid  # the same bytes: the same run id, in another home
    assert _results(home, rid) == _results(clean, clean_rid)


def test_a_silent_orchestrator_elsewhere_is_dead_after_three_missed_heartbeats(make_runtime):
    clock = ManualClock(1_000_000.0)
    rt = make_runtime(clock=clock, heartbeat_s=10)
    rt.ledger.put_state("executions", "r-1", {"status": "RUNNING", "started": clock.now(),
                                              "heartbeat": clock.now(), "host": "another-machine",
                                              "pid": 4242, "pid_started": 1.0})
    assert rt.workflow.describe("r-1").status == "RUNNING"
    clock.advance(29)
    assert rt.workflow.describe("r-1").status == "RUNNING"
    clock.advance(2)
    gone = rt.workflow.describe("r-1")
    assert gone.status == "ABORTED" and gone.error == ORCHESTRATOR_DIED and "31s ago" in gone.cause
