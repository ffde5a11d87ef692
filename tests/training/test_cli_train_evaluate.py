"""``newsops train`` and ``newsops evaluate`` as a user meets them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from newsops_batch.charner import training
from newsops_batch.labelled import load

from chalicelib import registry
from chalicelib.factory import build_store
from chalicelib.settings import Settings
from newsops.cli import main

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "ner50.jsonl"
COMPANIES = {"name": "companies", "kind": "char-ner", "model": "registry:companies", "model_version": "prod",
             "languages": ["ja"], "options": {"types": ["法人名"]}}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    tasks = tmp_path / "tasks.json"
    tasks.write_text(json.dumps({"tasks": [COMPANIES]}))
    monkeypatch.setenv("NEWSOPS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NEWSOPS_TASKS_FILE", str(tasks))
    return tmp_path / "home"


def test_bad_training_data_is_refused_before_anything_is_uploaded(home: Path, tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "トヨタ", "entities": [{"span": [0, 9], "type": "法人名"}]}\n')
    assert main(["train", "companies", "--data", str(bad), "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert "line 1" in err and "outside the text" in err
    assert list(build_store(Settings()).list("training/")) == []


def test_unknown_task_and_bad_fraction_exit_2_with_a_reason(home: Path, capsys) -> None:
    assert main(["train", "nope", "--data", str(FIXTURE)]) == 2
    assert "not a char-ner task" in capsys.readouterr().err
    assert main(["train", "companies", "--data", str(FIXTURE), "--dev-fraction", "1.5"]) == 2
    assert "between 0 and 1" in capsys.readouterr().err
    assert main(["evaluate", "nope", "--data", str(FIXTURE)]) == 2
    assert "no task 'nope'" in capsys.readouterr().err


def test_evaluate_json_reports_the_promoted_version_per_type(home: Path, tmp_path: Path, capsys) -> None:
    model = tmp_path / "model"
    training.train(load(FIXTURE), None, model, schedule="short", epochs=1, seed=0)
    store = build_store(Settings())
    registry.push_model(store, model, task="companies", version="v1")
    registry.promote(store, "companies", "v1")
    assert main(["evaluate", "companies", "--data", str(FIXTURE), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["model_version"] == "v1" and out["texts"] == 50
    company = out["types"]["法人名"]
    assert set(company) == {"precision", "recall", "f1", "tp", "fp", "fn"}
    assert company["tp"] + company["fn"] == load(FIXTURE).span_count("法人名")
    assert "法人名" in out["overlap"] and "ja" in out["languages"]
    # No prod model for an unknown version: a clear error, exit 1.
    assert main(["evaluate", "companies", "--data", str(FIXTURE), "--model", "v9"]) == 1
    assert "no model companies/v9" in capsys.readouterr().err
