import json
import os
import sys
import threading
import time

import pytest

from chalicelib.compute.base import JobRequest
from chalicelib.compute.local import LocalCompute


def _py(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead for our purpose
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture
def compute(tmp_path):
    c = LocalCompute(tmp_path, workers=3)
    yield c
    c.shutdown()


def test_array_children_get_their_index_and_overrides(compute, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    code = ("import os,pathlib; i=os.environ['AWS_BATCH_JOB_ARRAY_INDEX'];"
            f"pathlib.Path(r'{out}', i).write_text(os.environ['GREETING'])")
    job = compute.submit(JobRequest("r1-t", "q", "d", array_size=5, environment={"GREETING": "hi"},
                                    command=_py(code)))
    status = compute.wait(job)
    assert status.status == "SUCCEEDED"
    assert sorted(p.name for p in out.iterdir()) == ["0", "1", "2", "3", "4"]
    assert {p.read_text() for p in out.iterdir()} == {"hi"}


def test_single_job_has_no_array_index_and_arrays_of_one_are_refused(compute, tmp_path):
    code = "import os,sys; sys.exit(1 if 'AWS_BATCH_JOB_ARRAY_INDEX' in os.environ else 0)"
    assert compute.wait(compute.submit(JobRequest("s", "q", "d", command=_py(code)))).status == "SUCCEEDED"
    with pytest.raises(ValueError):
        compute.submit(JobRequest("s", "q", "d", array_size=1, command=_py("")))


def test_retryable_exit_is_retried_and_permanent_is_not(compute):
    flaky = "import os,sys; sys.exit(75 if os.environ['AWS_BATCH_JOB_ATTEMPT']=='1' else 0)"
    s = compute.wait(compute.submit(JobRequest("f", "q", "d", command=_py(flaky), attempts=3)))
    assert s.status == "SUCCEEDED" and len(s.attempts) == 2
    s = compute.wait(compute.submit(JobRequest("p", "q", "d", command=_py("import sys; sys.exit(65)"),
                                               attempts=3)))
    assert s.status == "FAILED" and len(s.attempts) == 1
    s = compute.wait(compute.submit(JobRequest("r", "q", "d", command=_py("import sys; sys.exit(75)"),
                                               attempts=3)))
    assert s.status == "FAILED" and len(s.attempts) == 3
    assert "exit code 75" in s.reason


HANG = """
import subprocess, sys, time, pathlib
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
pathlib.Path(sys.argv[1]).write_text(f"{__import__('os').getpid()} {child.pid}")
time.sleep(300)
"""


def test_attempt_timeout_kills_the_whole_process_group(compute, tmp_path):
    pidfile = tmp_path / "pids"
    started = time.monotonic()
    job = compute.submit(JobRequest("h", "q", "d", command=[sys.executable, "-c", HANG, str(pidfile)],
                                    attempts=1, timeout_s=2))
    status = compute.wait(job)
    assert status.status == "FAILED"
    assert "timeout" in status.reason.lower() or "timeout" in status.attempts[0]["reason"].lower()
    assert time.monotonic() - started < 15
    parent, child = map(int, pidfile.read_text().split())
    deadline = time.monotonic() + 5
    while (_alive(parent) or _alive(child)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(parent) and not _alive(child)


def test_terminate_stops_running_children_and_skips_pending(tmp_path):
    compute = LocalCompute(tmp_path, workers=1)
    try:
        job = compute.submit(JobRequest("run1-t", "q", "d", array_size=3,
                                        command=_py("import time; time.sleep(60)"), attempts=3))
        deadline = time.monotonic() + 10
        while compute.describe(job).status != "RUNNING" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [j.job_id for j in compute.list_jobs(name_prefix="run1-")] == [job]
        t = threading.Thread(target=compute.terminate, args=(job, "run failed"))
        t.start()
        status = compute.wait(job)
        t.join()
        assert status.status == "FAILED"
        assert status.children == {"FAILED": 3}
        assert compute.list_jobs(name_prefix="run1-") == []
        # the registry file a reaper in another process reads
        doc = json.loads((tmp_path / "jobs" / f"{job}.json").read_text())
        assert doc["status"] == "FAILED" and doc["pgids"] == []
    finally:
        compute.shutdown()


def test_registry_file_ends_with_the_final_state_when_children_finish_together(tmp_path):
    """The reaper reads the registry file from another process: a stale RUNNING left there by
    two children finishing at once made it stop a job whose run had SUCCEEDED (a CI flake).
    One child's status write is held back here, so that the other child's finishing write
    races past it; the file must still end SUCCEEDED."""
    from chalicelib.ops.jobs import LocalJobRegistry

    compute = LocalCompute(tmp_path, workers=2)
    original = compute._status
    held = threading.Event()

    def slow_status(job):
        status = original(job)
        if status.status == "RUNNING" and status.children.get("SUCCEEDED") and not held.is_set():
            held.set()  # one child done, the other not yet: hold this stale view a while
            time.sleep(1.0)
        return status

    compute._status = slow_status  # type: ignore[method-assign]
    job = compute.submit(JobRequest("r-t", "q", "d", array_size=2,
                                    command=_py("import os,time; time.sleep(0.2 * int(os.environ['AWS_BATCH_JOB_ARRAY_INDEX']))")))
    assert compute.wait(job).status == "SUCCEEDED"
    compute.shutdown()  # every pool thread, and so every registry write, is done
    assert held.is_set()
    doc = json.loads((tmp_path / "jobs" / f"{job}.json").read_text())
    assert doc["status"] == "SUCCEEDED"
    assert LocalJobRegistry(tmp_path / "jobs").list_jobs() == []
