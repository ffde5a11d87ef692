"""The pipeline's alerts reach SNS under moto (which refuses a Subject over 100 characters, as
SNS does) for the longest run ids: success, a failed task, and the SNS adapter itself."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.alerts.base import Alert
from chalicelib.alerts.sns import SnsAlertSink
from chalicelib.contract import keys
from chalicelib.steps.cleanup import failure_subject
from tests.aws.moto_world import World
from tests.aws.test_pipeline_moto import INDEX_OK, VERIFY_OK, payload

pytestmark = pytest.mark.filterwarnings(
    "ignore:Exception in thread WaitForTaskToken_SyncTask:pytest.PytestUnhandledThreadExceptionWarning")

KEY = f"incoming/2026-11-27/{'quarterly-results-' + 'x' * 182}.jsonl.gz"  # a 200-character batch name
REPLAY_RID = keys.replay_run_id(KEY, "0" * 32, "t" * 40, "v1")  # 61 characters, the longest


@pytest.fixture
def world(moto_env: None) -> Any:
    w = World.create(task_names=("embed", "classify"), with_pipeline=True)
    try:
        yield w
    finally:
        w.stop_all()


def test_success_alert_of_the_longest_run_id_is_published(world: World) -> None:
    world.queue_lambda_results(INDEX_OK, VERIFY_OK)
    described, _ = world.run(world.state_machine_arn, payload(world, REPLAY_RID, 1), REPLAY_RID)
    assert described["status"] == "SUCCEEDED", described
    [alert] = world.alerts()
    assert alert["Subject"] == f"newsops run ok: {REPLAY_RID}"


def test_failure_alert_of_a_long_task_and_run_id_is_published(world: World,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTO_SIMPLE_BATCH_FAIL_AFTER", "0")
    subject = failure_subject(f"task {'t' * 40}", REPLAY_RID)
    world.queue_lambda_results({"subject": subject, "message": json.dumps({"run_id": REPLAY_RID})})
    described, events = world.run(world.state_machine_arn, payload(world, REPLAY_RID, 3), REPLAY_RID)
    assert described["status"] == "FAILED" and described["error"] == "newsops.RunFailed", described
    [alert] = world.alerts()
    assert alert["Subject"] == subject and len(subject) <= 100 and subject.endswith(REPLAY_RID)


def test_the_sns_adapter_publishes_any_subject(world: World) -> None:
    sink = SnsAlertSink(world.topic_arn, world.client("sns"))
    sink.publish(Alert(subject="newsops input rejected: " + "日本語\n\x07" * 80, severity="error",
                       reason="r", run_id=REPLAY_RID))
    [alert] = world.alerts()
    assert len(alert["Subject"]) <= 100 and alert["Subject"].isascii() and alert["Subject"].isprintable()
