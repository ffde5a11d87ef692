"""Every ASL construct the local executor supports, run on moto and locally: same output or error."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from tests.aws.moto_world import World, mocked_aws
from tests.conformance.cases import CASES, Case
from tests.conformance.harness import run_local, run_moto, same_states

# moto runs a token-wait thread beside every Batch .sync task; when the task ends early (a
# timeout, a failed sibling in a Map) that thread reads its timeout from an unwound stack and
# dies with a TypeError. It changes no outcome; it is moto's noise, not ours.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Exception in thread WaitForTaskToken_SyncTask:pytest.PytestUnhandledThreadExceptionWarning")


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with pytest.MonkeyPatch.context() as mp, mocked_aws(mp):
        w = World.create()
        try:
            yield w
        finally:
            w.stop_all()


def _machine(case: Case) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", f"conf-{case.id}")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_same_outcome_on_moto_and_locally(world: World, case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    if case.batch_fail is not None:
        monkeypatch.setenv("MOTO_SIMPLE_BATCH_FAIL_AFTER", case.batch_fail)
    else:
        monkeypatch.delenv("MOTO_SIMPLE_BATCH_FAIL_AFTER", raising=False)
    name = f"exec-{case.id}"
    moto = run_moto(world, case.definition, case.input, name, machine=_machine(case))
    local = run_local(world, case.definition, case.input, name, machine=_machine(case))

    assert local.status == moto.status, (local, moto)
    assert same_states(local.states, moto.states, set(case.definition["States"])), (local.states, moto.states)
    if case.compare == "output":
        assert _comparable(local.output) == _comparable(moto.output)
    elif case.compare == "error":
        assert local.error == moto.error
    if case.attempts is not None:
        assert local.task_attempts == moto.task_attempts == case.attempts
    if case.id == "intrinsics":
        assert moto.output["uuid_parts"] == 5 and 1 <= moto.output["random_is_number"] <= 10


def _comparable(output: object) -> object:
    """Values that differ by nature between two runs are checked separately."""
    if isinstance(output, dict) and "random_is_number" in output:
        return {**output, "random_is_number": None}
    if isinstance(output, dict) and isinstance(output.get("job"), dict):
        return {**output, "job": {k: v for k, v in output["job"].items() if k != "JobId"}}
    return json.loads(json.dumps(output))
