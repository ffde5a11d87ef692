import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from chalicelib.workflow import definition

REPRESENTATIVE = {
    "JobQueueArn": "arn:aws:batch:eu-west-1:123456789012:job-queue/newsops-prod",
    "IndexFunctionArn": "arn:aws:lambda:eu-west-1:123456789012:function:newsops-prod-index",
    "VerifyFunctionArn": "arn:aws:lambda:eu-west-1:123456789012:function:newsops-prod-verify",
    "CleanupFunctionArn": "arn:aws:lambda:eu-west-1:123456789012:function:newsops-prod-cleanup",
    "AlertsTopicArn": "arn:aws:sns:eu-west-1:123456789012:newsops-prod-alerts",
}


def test_the_definition_is_valid_json_with_placeholders_only_inside_strings():
    text = definition.DEFINITION_PATH.read_text()
    json.loads(text)  # valid JSON as committed
    for m in re.finditer(r"\$\{[A-Za-z0-9_]+\}", text):
        before = text[:m.start()].rsplit("\n", 1)[-1]
        assert before.count('"') % 2 == 1, f"placeholder outside a string: {m.group()}"
    assert definition.placeholders(text) == set(REPRESENTATIVE)


def test_statelint_accepts_the_substituted_definition(tmp_path):
    path = tmp_path / "pipeline.json"
    path.write_text(json.dumps(definition.load(REPRESENTATIVE)))
    statelint = shutil.which("statelint") or str(Path(sys.executable).parent / "statelint")
    out = subprocess.run([statelint, str(path)], capture_output=True, text=True)
    assert out.returncode == 0 and not out.stdout.strip(), out.stdout + out.stderr


def test_a_missing_placeholder_value_is_an_error_not_an_empty_string():
    import pytest

    with pytest.raises(KeyError, match="AlertsTopicArn"):
        definition.load({k: v for k, v in REPRESENTATIVE.items() if k != "AlertsTopicArn"})


def test_batch_tasks_retry_only_submission_errors_and_bound_their_time():
    d = definition.load(REPRESENTATIVE)
    jobs = d["States"]["RunTasks"]["ItemProcessor"]["States"]
    for name in ("SubmitArrayJob", "SubmitJob"):
        state = jobs[name]
        assert state["Resource"] == "arn:aws:states:::batch:submitJob.sync"
        errors = {e for r in state["Retry"] for e in r["ErrorEquals"]}
        assert errors == {"Batch.AWSBatchException", "Batch.TooManyRequestsException",
                          "Batch.ServerException"}
        assert state["TimeoutSecondsPath"] == "$.task.sfn_timeout_s"
        assert state["Parameters"]["JobQueue"] == REPRESENTATIVE["JobQueueArn"]
    assert "ArrayProperties" in jobs["SubmitArrayJob"]["Parameters"]
    assert "ArrayProperties" not in jobs["SubmitJob"]["Parameters"]


def test_payloads_carry_keys_never_article_text(make_runtime):
    from chalicelib.steps.ingest import execution_input

    rt = make_runtime()
    payload = execution_input(rt, "r" * 60, 10_000).model_dump_json()
    assert len(payload) < 4096  # far below the 256 KiB state limit at the maximum chunk count
    assert "body" not in payload
