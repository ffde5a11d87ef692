"""A full disk is a fault like any other (issue: faults on one machine, item 2): `newsops ingest`
on a home that fills up ends, within a deadline, with the cause in one line per failure and no
traceback, alerts on stderr even when the alert file cannot be written, and once space is back
`newsops verify` reports the run and `newsops run --retry` completes it.

The home is a 700 KB tmpfs where this machine lets the test mount one (root); elsewhere every
file of the command is capped at 256 KiB (RLIMIT_FSIZE), which fails the same writes with EFBIG (SQLite reports it as a disk I/O error).
NEWSOPS_TEST_NO_TMPFS=1 takes that path on a machine that could mount."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import fake_task
from tests.pipeline_support import article, jsonl_gz

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def small_home(tmp_path: Path) -> Iterator[tuple[Path, bool]]:
    mount = tmp_path / "disk"
    mount.mkdir()
    mounted = os.geteuid() == 0 and not os.environ.get("NEWSOPS_TEST_NO_TMPFS") and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=700k", "tmpfs", str(mount)], capture_output=True).returncode == 0
    try:
        yield mount / "home", mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def _cap_file_size() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the cap fails with EFBIG instead
    resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, 256 * 1024))


def _newsops(args: list[str], env: dict[str, str], *, capped: bool) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "newsops.cli", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=120, env={**os.environ, **env},
                          preexec_fn=_cap_file_size if capped else None)


def test_a_full_disk_ends_the_run_clearly_and_a_retry_completes_it_once_space_is_back(small_home, tmp_path):
    home, mounted = small_home
    batch = tmp_path / "k300.jsonl.gz"
    batch.write_bytes(jsonl_gz([article(i, body="Northwind Holdings said revenue rose. " * 30)
                                for i in range(300)]))
    tasks = tmp_path / "tasks.json"
    tasks.write_text(json.dumps({"tasks": [fake_task("alpha")]}))
    env = {"NEWSOPS_HOME": str(home), "NEWSOPS_TASKS_FILE": str(tasks), "NEWSOPS_CHUNK_SIZE": "50",
           "NEWSOPS_RETRY_INTERVAL_SCALE": "0", "HF_HUB_OFFLINE": "1"}

    done = _newsops(["ingest", str(batch)], env, capped=not mounted)  # timeout: no hang

    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "Logging error" not in done.stderr
    # The cause, and where: SQLite reports a write past the file-size cap as a disk I/O error.
    fault = "No space left on device" if mounted else "disk I/O error"
    assert fault in done.stderr and str(home) in done.stderr
    # The run's outcome reached the person on stderr, though the alert file could not be written.
    assert "ALERT newsops run FAILED" in done.stderr, done.stderr
    if mounted:  # the file-size cap leaves the small alert file writable
        assert "is not recorded in" in done.stderr and "alerts.jsonl" in done.stderr
    rid = next((home / "store" / "runs").iterdir()).name

    if mounted:
        subprocess.run(["mount", "-o", "remount,size=64m", str(home.parent)], check=True)
    verify = _newsops(["verify"], env, capped=False)
    assert verify.returncode == 1 and rid in verify.stdout
    retried = _newsops(["run", "--retry", rid], env, capped=False)
    assert retried.returncode == 0, retried.stdout + retried.stderr
    assert "verdict: OK" in retried.stdout
    status = _newsops(["status", rid], env, capped=False)
    assert json.loads(status.stdout)["attempts"][-1]["state"] == "SUCCEEDED"


def test_a_home_that_stops_taking_writes_mid_run_ends_the_run_and_hangs_nothing(tmp_path):
    """Item 3: the home turns unwritable while the run is in flight (here every file of the
    orchestrator and its workers is capped at 0 bytes of growth: RLIMIT_FSIZE, set from outside
    on the running processes). The command must end, with the failure on stderr, not wait."""
    import time

    import psutil

    batch = tmp_path / "k300.jsonl.gz"
    batch.write_bytes(jsonl_gz([article(i) for i in range(300)]))
    tasks = tmp_path / "tasks.json"
    tasks.write_text(json.dumps({"tasks": [fake_task("alpha", attempts=1)]}))
    home = tmp_path / "home"
    env = {**os.environ, "NEWSOPS_HOME": str(home), "NEWSOPS_TASKS_FILE": str(tasks),
           "NEWSOPS_CHUNK_SIZE": "20", "NEWSOPS_RETRY_INTERVAL_SCALE": "0", "NEWSOPS_FAKE_SLEEP": "1",
           "HF_HUB_OFFLINE": "1"}
    # Output through a pipe: the cap must not silence the command's own stderr.
    proc = subprocess.Popen([sys.executable, "-m", "newsops.cli", "ingest", str(batch)], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    while not list(home.glob("store/runs/*/results/alpha/*")) and time.monotonic() < deadline:
        time.sleep(0.1)
    for p in [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]:
        resource.prlimit(p.pid, resource.RLIMIT_FSIZE, (0, 0))
    out, _ = proc.communicate(timeout=90)  # the deadline: a hang fails here
    assert proc.returncode == 1, out
    assert "Traceback" not in out
    assert "ALERT newsops run FAILED" in out
    assert out.strip().splitlines()[-1].startswith("newsops ingest: cannot write ")
