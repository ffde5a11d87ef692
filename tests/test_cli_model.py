import hashlib
import json
from pathlib import Path

from newsops.cli import main


def test_model_push_promote_list_round_trip_and_refuse_bad_input(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NEWSOPS_HOME", str(tmp_path / "home"))
    model = tmp_path / "m"
    model.mkdir()
    (model / "config.json").write_text('{"model_type": "bert"}')
    (model / "weights.bin").write_bytes(b"\0" * 1000)
    assert main(["model", "push", str(model), "--task", "companies", "--version", "v1",
                 "--metrics", '{"f1": 0.9}']) == 0
    pushed = json.loads(capsys.readouterr().out)
    assert pushed["files"] == 2 and pushed["metrics"] == {"f1": 0.9}
    # versions are immutable
    assert main(["model", "push", str(model), "--task", "companies", "--version", "v1"]) == 1
    assert "immutable" in capsys.readouterr().err
    assert main(["model", "promote", "companies", "v1", "--stage", "prod"]) == 0
    capsys.readouterr()
    assert main(["model", "list", "companies"]) == 0
    listed = capsys.readouterr().out.strip().splitlines()
    assert listed[0].split()[:2] == ["version", "stages"]
    assert listed[1].split()[:2] == ["v1", "prod"] and "f1 0.900" in listed[1]
    assert main(["model", "promote", "companies", "v9"]) == 1
    assert main(["model", "push", "package:no_such_model_pkg", "--task", "x", "--version", "1"]) == 1
    assert "not installed" in capsys.readouterr().err
    store = Path(tmp_path / "home" / "store" / "models" / "companies" / "v1")
    assert (store / "MANIFEST.json").exists()


# -- gate, rollback and history without loading a model: cards scored on the registered data ----

from datetime import UTC, datetime, timedelta  # noqa: E402

import pytest  # noqa: E402

from chalicelib import registry  # noqa: E402
from chalicelib.clock import ManualClock  # noqa: E402
from chalicelib.factory import build_store  # noqa: E402
from chalicelib.settings import Settings  # noqa: E402
from newsops.modelcli import run_model  # noqa: E402

T0 = datetime(2031, 1, 5, 12, 0, tzinfo=UTC)
EVAL = ('{"text": "トヨタ自動車の決算", "entities": [{"span": [0, 6], "type": "法人名"}]}\n'
        '{"text": "ソニーグループが発表", "entities": [{"span": [0, 7], "type": "法人名"}]}\n')


def _card(data_sha256: str, tp: int, fp: int, fn: int) -> dict:
    """A model card as the Evaluate step writes it (trainjob.run_register)."""
    return {"evaluation": {"data_sha256": data_sha256, "texts": 2,
                           "types": {"法人名": {"tp": tp, "fp": fp, "fn": fn},
                                     "人名": {"tp": 9, "fp": 0, "fn": 0}}}}


@pytest.fixture
def registry_home(tmp_path, monkeypatch):
    tasks = tmp_path / "tasks.json"
    tasks.write_text(json.dumps({"tasks": [{"name": "companies", "kind": "char-ner",
                                            "model": "registry:companies", "model_version": "prod"}]}))
    monkeypatch.setenv("NEWSOPS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NEWSOPS_TASKS_FILE", str(tasks))
    monkeypatch.setenv("NEWSOPS_ACTOR", "carol")
    data = tmp_path / "eval.jsonl"
    data.write_text(EVAL, encoding="utf-8")
    model = tmp_path / "m"
    model.mkdir()
    (model / "config.json").write_text("{}")
    store = build_store(Settings())
    sha = hashlib.sha256(data.read_bytes()).hexdigest()
    # f1: v1 0.8, v2 0.5 (worse), v3 0.8 (equal to v1)
    for version, counts in (("v1", (2, 1, 0)), ("v2", (1, 1, 1)), ("v3", (2, 0, 1))):
        registry.push_model(store, model, task="companies", version=version, card=_card(sha, *counts))
    return store, data


def test_gate_reuses_cards_scored_on_the_registered_data_and_records_who_when_why(registry_home, capsys):
    store, data = registry_home
    clock = ManualClock(T0)
    assert run_model(["promote", "companies", "v1"], clock=clock) == 0  # first: nothing to compare
    assert run_model(["eval-data", "companies", str(data)], clock=clock) == 0
    capsys.readouterr()
    assert run_model(["promote", "companies", "v2"], clock=clock) == 1
    err = capsys.readouterr().err
    assert "candidate v2 0.5000, prod v1 0.8000" in err and "both from their model cards" in err
    # Equal is not worse; staging is never gated.
    clock.advance(10)
    assert run_model(["promote", "companies", "v3", "--reason", "same F1, fewer false positives"],
                     clock=clock) == 0
    assert run_model(["promote", "companies", "v2", "--stage", "staging", "--by", "dave"], clock=clock) == 0
    assert run_model(["promote", "companies", "v3"], clock=clock) == 0
    assert "already prod" in capsys.readouterr().out
    events = registry.history(store, "companies")
    assert [(e.stage, e.version, e.by, e.at) for e in events] == [
        ("prod", "v1", "carol", T0), ("prod", "v3", "carol", T0 + timedelta(seconds=10)),
        ("staging", "v2", "dave", T0 + timedelta(seconds=10))]
    assert events[1].gate["candidate"]["f1"] == events[1].gate["production"]["f1"] == 0.8
    assert events[1].reason == "same F1, fewer false positives"


def test_rollback_walks_back_the_promotions_one_at_a_time(registry_home, capsys):
    store, _ = registry_home
    clock = ManualClock(T0)
    for version in ("v1", "v2", "v3"):
        registry.promote(store, "companies", version, by="ops", clock=clock, reason=f"ship {version}")
        clock.advance(60)
    assert run_model(["rollback", "companies", "--reason", "bad numbers"], clock=clock) == 0
    assert registry.stage_pointer(store, "companies", "prod").version == "v2"
    assert run_model(["rollback", "companies"], clock=clock) == 0
    assert registry.stage_pointer(store, "companies", "prod").version == "v1"
    assert run_model(["rollback", "companies"], clock=clock) == 1
    assert "first version" in capsys.readouterr().err
    assert run_model(["rollback", "companies", "--stage", "staging"], clock=clock) == 1
    assert "no 'staging' model" in capsys.readouterr().err
    events = registry.history(store, "companies")
    assert [(e.action, e.version, e.previous) for e in events] == [
        ("promote", "v1", None), ("promote", "v2", "v1"), ("promote", "v3", "v2"),
        ("rollback", "v2", "v3"), ("rollback", "v1", "v2")]
    assert [e.by for e in events] == ["ops", "ops", "ops", "carol", "carol"]


def test_history_written_before_who_was_kept_still_reads_and_rolls_back(registry_home, capsys):
    store, _ = registry_home
    for version, previous, when in (("v1", None, T0), ("v2", "v1", T0 + timedelta(days=1))):
        pointer = registry.StagePointer(task="companies", stage="prod", version=version,
                                        manifest_sha256=registry.read_manifest(store, "companies", version)[1],
                                        promoted=when, previous=previous, reason="old")
        data = pointer.model_dump_json().encode()
        store.put(f"models/companies/stages/history/{when:%Y%m%dT%H%M%S.%f}-prod.json", data)
        store.put("models/companies/stages/prod.json", data)
    assert run_model(["rollback", "companies"], clock=ManualClock(T0 + timedelta(days=2))) == 0
    assert registry.stage_pointer(store, "companies", "prod").version == "v1"
    capsys.readouterr()
    assert run_model(["history", "companies"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines[1:]] == ["0", "0", "1"]
    assert "?: old" in lines[1] and "carol: (no reason given)" in lines[3]


def test_gate_refusals_name_the_reason_and_force_needs_a_reason(registry_home, tmp_path, capsys):
    store, data = registry_home
    assert run_model(["promote", "companies", "v1"]) == 0
    assert run_model(["promote", "companies", "v2", "--force"]) == 2
    assert "--force needs --reason" in capsys.readouterr().err
    assert run_model(["promote", "companies", "v2"]) == 1
    assert "newsops model eval-data companies FILE" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "x"}\n')
    assert run_model(["eval-data", "companies", str(bad)]) == 2
    assert "line 1" in capsys.readouterr().err
    assert registry.evaluation_data(store, "companies") is None
    assert run_model(["eval-data", "companies"]) == 0
    assert "no evaluation data for companies" in capsys.readouterr().out
    assert run_model(["promote", "companies", "v2", "--force", "--reason", "no data yet", "--by", "erin"]) == 0
    event = registry.history(store, "companies")[-1]
    assert event.forced and event.by == "erin" and "no evaluation data" in event.gate["message"]
    assert run_model(["promote", "companies", "v9"]) == 1
    assert "no model companies/v9" in capsys.readouterr().err
    with pytest.raises(registry.RegistryError, match="not a stage name"):
        registry.push_model(store, tmp_path, task="companies", version="evaluation")
