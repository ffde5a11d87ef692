"""The moto patches announce themselves: each gap is shown on moto WITHOUT its patch under
``xfail(strict=True)``. When a moto release fixes a gap, its test passes, strict xfail turns
that into a failure, and the matching patch in tests/support/moto_patches.py can go.
The same definitions must pass with the patches (the control cases).
"""

from __future__ import annotations

import json

import pytest

from tests.aws.moto_world import World, mocked_aws

# moto runs a token-wait thread beside every Batch .sync task; when the task ends early (a
# timeout, a failed sibling in a Map) that thread reads its timeout from an unwound stack and
# dies with a TypeError. It changes no outcome; it is moto's noise, not ours.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Exception in thread WaitForTaskToken_SyncTask:pytest.PytestUnhandledThreadExceptionWarning")


def _submit(**extra: object) -> dict:
    return {"Type": "Task", "Resource": "arn:aws:states:::batch:submitJob.sync",
            "Parameters": {"JobName": "patch-probe", "JobQueue": "${queue}", "JobDefinition": "newsops-fake",
                           "ArrayProperties": {"Size": 2}},
            "ResultSelector": {"JobName.$": "$.JobName", "Status.$": "$.Status"}, **extra}


def _fan_out(kind: str) -> dict:
    """A Map or Parallel whose only task fails with States.TaskFailed, caught by that name."""
    inner = {"StartAt": "Submit", "States": {"Submit": _submit(End=True)}}
    state: dict = {"Type": kind, "Next": "Caught",
                   "Catch": [{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.caught", "Next": "Caught"}]}
    if kind == "Map":
        state.update(ItemsPath="$.items", ItemProcessor={"ProcessorConfig": {"Mode": "INLINE"}, **inner})
    else:
        state["Branches"] = [inner]
    return {"StartAt": "Fan", "States": {"Fan": state, "Caught": {"Type": "Pass", "End": True}}}


# case -> (definition, input, whether jobs fail, the patch this case needs)
CASES: dict[str, tuple[dict, dict, bool, str]] = {
    "batch-integration-casing": ({"StartAt": "Submit", "States": {"Submit": _submit(End=True)}}, {}, False,
                                 "batch_casing"),
    "states-error-leaving-map": (_fan_out("Map"), {"items": [1]}, True, "states_errors"),
    "states-error-leaving-parallel": (_fan_out("Parallel"), {}, True, "states_errors"),
}


def _run(monkeypatch: pytest.MonkeyPatch, case: str, *, without: str | None) -> None:
    definition, payload, jobs_fail, _ = CASES[case]
    patches = {"batch_casing": True, "states_errors": True}
    if without:
        patches[without] = False
    with mocked_aws(monkeypatch, **patches):
        if jobs_fail:
            monkeypatch.setenv("MOTO_SIMPLE_BATCH_FAIL_AFTER", "0")
        w = World.create()
        try:
            text = json.dumps(definition).replace("${queue}", w.queue_arn)
            described, _ = w.run(w.create_state_machine(json.loads(text), case), payload, "probe", timeout_s=30)
        finally:
            w.stop_all()
    assert described["status"] == "SUCCEEDED", (described.get("error"), described.get("cause"))
    output = json.loads(described["output"])
    if jobs_fail:
        assert output["caught"]["Error"] == "States.TaskFailed"
        assert json.loads(output["caught"]["Cause"])["JobName"] == "patch-probe"
    else:
        assert output == {"JobName": "patch-probe", "Status": "SUCCEEDED"}


@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="moto 5.2.5 gap; patched in tests/support/moto_patches.py")
@pytest.mark.parametrize("case", sorted(CASES))
def test_moto_without_the_patch_still_has_the_gap(monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    _run(monkeypatch, case, without=CASES[case][3])


@pytest.mark.parametrize("case", sorted(CASES))
def test_patched_moto_behaves_as_aws(monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    _run(monkeypatch, case, without=None)


def test_patches_refuse_another_moto_version(monkeypatch: pytest.MonkeyPatch) -> None:
    import moto

    from tests.support.moto_patches import patched_moto

    monkeypatch.setattr(moto, "__version__", "9.9.9")
    with pytest.raises(RuntimeError, match="targets moto 5.2.5"), patched_moto():
        pass


def _poll_while_an_array_is_submitted(monkeypatch: pytest.MonkeyPatch, *, atomic: bool) -> None:
    """What the pipeline's Parallel does: one branch submits a big array job while another
    branch's ``.sync`` poll describes its own job. Thread switches are made as frequent as
    they can be, so a table read that is not atomic meets the submission mid-way."""
    import sys
    import threading

    with mocked_aws(monkeypatch, batch_jobs_atomic=atomic):
        w = World.create()
        batch = w.client("batch")
        first = batch.submit_job(jobName="probe-first", jobQueue=w.queue_arn,
                                 jobDefinition=f"{w.job_definition_prefix}-fake")["jobId"]
        submitted = threading.Event()

        def submit() -> None:
            try:
                batch.submit_job(jobName="probe-array", jobQueue=w.queue_arn,
                                 jobDefinition=f"{w.job_definition_prefix}-fake", arrayProperties={"size": 3000})
            finally:
                submitted.set()

        interval = sys.getswitchinterval()
        sys.setswitchinterval(1e-6)
        try:
            submitter = threading.Thread(target=submit)
            submitter.start()
            while not submitted.is_set():
                assert batch.describe_jobs(jobs=[first])["jobs"][0]["status"] == "SUCCEEDED"
            submitter.join()
        finally:
            sys.setswitchinterval(interval)
            w.stop_all()


@pytest.mark.xfail(strict=True, raises=RuntimeError, reason="moto 5.2.5 gap; patched in tests/support/moto_patches.py")
def test_moto_without_the_batch_lock_still_races_an_array_submission(monkeypatch: pytest.MonkeyPatch) -> None:
    _poll_while_an_array_is_submitted(monkeypatch, atomic=False)


def test_locked_moto_batch_reads_whole_tables_during_an_array_submission(monkeypatch: pytest.MonkeyPatch) -> None:
    _poll_while_an_array_is_submitted(monkeypatch, atomic=True)
