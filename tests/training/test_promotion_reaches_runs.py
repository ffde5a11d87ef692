"""A promoted model version is what the next run loads, and the run's manifest says which."""

from __future__ import annotations

from pathlib import Path

import pytest
from newsops_batch.charner import training
from newsops_batch.labelled import load

from chalicelib import registry
from chalicelib.contract import keys
from chalicelib.contract.schema import RunManifest
from chalicelib.jsonl import decode
from chalicelib.schema import RunReport
from newsops.cli import main as cli_main
from tests.pipeline_support import jsonl_gz, put_incoming

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "ner50.jsonl"
COMPANIES = {"name": "companies", "kind": "char-ner", "model": "registry:companies", "model_version": "prod",
             "languages": ["ja"], "options": {"types": ["法人名"]}, "attempts": 1, "timeout_s": 120}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("model") / "m"
    training.train(load(FIXTURE), None, out, schedule="short", epochs=1, seed=0)
    return out


def japanese(i: int) -> dict:
    return {"url": f"https://news.example/ja/{i}", "title": f"ニュース{i}",
            "body": load(FIXTURE).texts[i].text, "language": "ja"}


def run_with(rt, name: str) -> tuple[RunManifest, list[dict], RunReport]:
    _, rid = put_incoming(rt, name, jsonl_gz([japanese(i) for i in range(4)]))
    manifest = RunManifest.model_validate_json(rt.store.get(keys.manifest(rid)))
    info = rt.store.head(keys.result(rid, "companies", 0))
    results = decode(rt.store.get(keys.result(rid, "companies", 0)))
    report = RunReport.model_validate_json(rt.store.get(keys.report(rid)))
    return manifest, [info.metadata, *results], report


def test_promoting_a_version_changes_what_the_next_run_loads(make_runtime, model_dir: Path) -> None:
    rt = make_runtime(tasks=[COMPANIES], chunk_size=10)
    v1 = registry.push_model(rt.store, model_dir, task="companies", version="v1")
    registry.push_model(rt.store, model_dir, task="companies", version="v2")
    registry.promote(rt.store, "companies", "v1")

    manifest, (meta, *results), report = run_with(rt, "first.jsonl.gz")
    assert report.verdict == "ok", report.problems
    assert manifest.models["companies"] == {"version": "v1", "sha256": v1.manifest_sha256,
                                            "uri": "registry:companies"}
    assert meta["model_version"] == "v1" and meta["model_sha256"] == v1.manifest_sha256
    assert {r["output"]["model_version"] for r in results} == {"v1"}

    registry.promote(rt.store, "companies", "v2", reason="test")
    manifest, (meta, *results), report = run_with(rt, "second.jsonl.gz")
    assert report.verdict == "ok", report.problems
    assert manifest.models["companies"]["version"] == "v2"
    assert meta["model_version"] == "v2"
    assert {r["output"]["model_version"] for r in results} == {"v2"}


def test_a_corrupted_promoted_version_fails_the_run_instead_of_passing_unloaded(
        make_runtime, model_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    rt = make_runtime(tasks=[COMPANIES], chunk_size=10)
    registry.push_model(rt.store, model_dir, task="companies", version="v1")
    registry.promote(rt.store, "companies", "v1")
    weights = keys.model_prefix("companies", "v1") + "weights.safetensors"
    data = bytearray(rt.store.get(weights))
    data[-1] ^= 0xFF
    rt.store.put(weights, bytes(data))

    _, rid = put_incoming(rt, "bad.jsonl.gz", jsonl_gz([japanese(i) for i in range(4)]))
    report = RunReport.model_validate_json(rt.store.get(keys.report(rid)))
    assert report.verdict != "ok"
    logs = "".join(p.read_text() for p in (rt.settings.home / "logs").rglob("*.log"))
    assert "checksum mismatch" in logs and "weights.safetensors" in logs
    # The cause, not only "exit code 65": in the report, the alert and `newsops status`.
    cause = next(p for p in report.problems if p.startswith("missing result"))
    assert "failed permanently" in cause and "checksum mismatch for weights.safetensors" in cause
    [alert] = [a for a in rt.alerts.read() if a["severity"] == "error"]
    assert any("checksum mismatch for weights.safetensors" in p for p in alert["details"]["problems"])
    monkeypatch.setenv("NEWSOPS_HOME", str(rt.settings.home))
    monkeypatch.setenv("NEWSOPS_TASKS_FILE", str(rt.settings.tasks_file))
    assert cli_main(["status", rid]) == 0
    assert "checksum mismatch for weights.safetensors" in capsys.readouterr().out


def test_promote_verifies_every_file_first(make_runtime, model_dir: Path) -> None:
    rt = make_runtime(tasks=[COMPANIES], chunk_size=10)
    registry.push_model(rt.store, model_dir, task="companies", version="v1")
    weights = keys.model_prefix("companies", "v1") + "weights.safetensors"
    data = bytearray(rt.store.get(weights))
    data[0] ^= 0xFF
    rt.store.put(weights, bytes(data))
    with pytest.raises(registry.CorruptModel, match="checksum mismatch for weights.safetensors"):
        registry.promote(rt.store, "companies", "v1")
    assert registry.stage_pointer(rt.store, "companies", "prod") is None
