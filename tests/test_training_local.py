"""The train state machine run end to end by the local executor: real worker processes train a
character tagger for one epoch on tests/fixtures/ner50.jsonl, evaluate it and register it."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from chalicelib import registry
from chalicelib.contract import keys
from chalicelib.contract.schema import TrainRequest
from chalicelib.training import describe_training, job_name, local_log_dir, start_training

FIXTURE = Path(__file__).parent / "fixtures" / "ner50.jsonl"
TASK = "company-ner"


def request(train_id: str, data_key: str, **extra: Any) -> TrainRequest:
    return TrainRequest(train_id=train_id, task=TASK, data_key=data_key, created=datetime.now(UTC),
                        **{"dev_fraction": 0.2, "epochs": 1, "seed": 7, **extra})


def test_train_evaluate_register_on_the_local_backend(make_runtime: Callable[..., Any], tmp_path: Path) -> None:
    rt = make_runtime()
    train_id = "ner50-local-1"
    data_key = f"{keys.training_prefix(train_id)}data/ner50.jsonl"
    rt.store.put(data_key, FIXTURE.read_bytes())

    wanted = request(train_id, data_key, promote=True)
    execution = start_training(rt, wanted)

    logs = {step: sorted(local_log_dir(rt.settings, train_id, step).glob("*.log"))
            for step in ("train", "evaluate", "register")}
    assert execution.status == "SUCCEEDED", (execution.error, execution.cause,
                                             {s: [p.read_text()[-2000:] for p in ps] for s, ps in logs.items()})
    assert execution.states_entered == ["Train", "Evaluate", "Register", "Trained", "NotifySuccess"]
    # One attempt each, run as `python -m newsops_batch <step> <id>`; the epoch line is in the log.
    assert all(len(paths) == 1 for paths in logs.values()), logs
    assert "epoch 1/1 loss " in logs["train"][0].read_text()
    assert {j["JobName"] for j in execution.output["jobs"].values()} == {
        job_name(train_id, s) for s in ("train", "evaluate", "register")}

    resolved = registry.resolve(rt.store, TASK, train_id)
    card = resolved.manifest.card
    rows = sum(1 for line in FIXTURE.read_text().splitlines() if line.strip())
    assert card["training_data"]["sha256"] and 0 < card["training_data"]["rows"] < rows
    assert card["training_data"]["rows"] + card["dev_data"]["rows"] == rows  # dev_fraction 0.2
    assert card["seed"] == 7
    assert card["hyperparameters"]["epochs"] == 1
    assert card["dev_metrics"]["texts"] == card["dev_data"]["rows"]
    assert card["training_seconds"] > 0
    assert set(resolved.manifest.metrics) >= {"precision", "recall", "f1"}
    assert registry.stage_pointer(rt.store, TASK, "prod").version == train_id  # promote=True

    from newsops_batch.charner import artifact

    dest = tmp_path / "downloaded"
    registry.download(rt.store, resolved, dest)
    loaded = artifact.load(dest, device="cpu")
    assert loaded.config.kind == "char-ner" and not loaded.model.training

    [alert] = [json.loads(line) for line in (rt.settings.home / "alerts.jsonl").resolve().read_text().splitlines()]
    assert alert["subject"] == f"newsops train ok: {train_id}" and alert["severity"] == "info"

    # The execution is named by the train id: a second start is the same execution, not a rerun.
    again = start_training(rt, wanted)
    assert again.status == "SUCCEEDED" and len(sorted(local_log_dir(rt.settings, train_id).glob("*.log"))) == 1
    assert describe_training(rt, train_id).status == "SUCCEEDED"
    assert rt.workflow.describe(train_id) is None, "training executions are not pipeline runs"


def test_missing_training_data_fails_at_train_and_alerts(make_runtime: Callable[..., Any]) -> None:
    rt = make_runtime()
    train_id = "ner50-local-missing"
    execution = start_training(rt, request(train_id, "training/nowhere/data.jsonl"))
    assert execution.status == "FAILED" and execution.error == "newsops.TrainingFailed"
    assert execution.states_entered == ["Train", "TrainFailed", "ComposeFailure", "NotifyFailure",
                                        "TrainingFailed"]
    # Exit code 65 (permanent): one attempt although the step may take job_attempts.
    [log] = local_log_dir(rt.settings, train_id).glob("*.log")
    assert "training data missing" in log.read_text()
    assert not local_log_dir(rt.settings, train_id, "evaluate").exists()
    assert registry.list_versions(rt.store, TASK) == []
    [alert] = [json.loads(line) for line in (rt.settings.home / "alerts.jsonl").resolve().read_text().splitlines()]
    assert alert["subject"] == f"newsops train FAILED at train: {train_id}"
    assert alert["severity"] == "error" and alert["stage"] == "train"
    assert alert["details"]["train_id"] == train_id


def test_a_different_request_under_a_used_id_is_refused(make_runtime: Callable[..., Any]) -> None:
    rt = make_runtime()
    first = request("ner50-local-reused", "training/a.jsonl")
    rt.store.put(keys.training_request(first.train_id), first.model_dump_json().encode())
    with pytest.raises(ValueError, match="different request"):
        start_training(rt, first.model_copy(update={"seed": 8}))
