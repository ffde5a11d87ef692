from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from newsops_batch import modelcache
from newsops_batch.errors import PermanentError
from newsops_batch.modelpath import resolve_task_model

from chalicelib import registry
from chalicelib.contract import keys
from chalicelib.contract.schema import TaskSpec
from chalicelib.store.local import LocalObjectStore


@pytest.fixture
def store(tmp_path: Path) -> LocalObjectStore:
    return LocalObjectStore(tmp_path / "store")


def _model_dir(tmp_path: Path, content: str = "weights-1") -> Path:
    d = tmp_path / f"src-{content}"
    (d / "sub").mkdir(parents=True, exist_ok=True)
    (d / "config.json").write_text(json.dumps({"model_type": "bert"}))
    (d / "model.safetensors").write_bytes(content.encode() * 1000)
    (d / "sub" / "vocab.txt").write_text("[PAD]\n[UNK]\n")
    (d / ".git").mkdir(exist_ok=True)
    (d / ".git" / "HEAD").write_text("not a model file")
    return d


def test_push_promote_resolve_round_trip(store, tmp_path):
    pushed = registry.push_model(store, _model_dir(tmp_path), task="companies", version="v1",
                                 source="unit test", metrics={"f1": 0.91})
    assert set(pushed.manifest.files) == {"config.json", "model.safetensors", "sub/vocab.txt"}
    assert store.exists(keys.model_manifest("companies", "v1"))
    pointer = registry.promote(store, "companies", "v1", "prod")
    assert pointer.version == "v1" and pointer.previous is None
    resolved = registry.resolve(store, "companies", "prod")
    assert resolved.version == "v1" and resolved.manifest_sha256 == pushed.manifest_sha256
    assert resolved.manifest.metrics == {"f1": 0.91}

    registry.push_model(store, _model_dir(tmp_path, "weights-2"), task="companies", version="v2")
    assert registry.promote(store, "companies", "v2", "prod").previous == "v1"
    assert registry.resolve(store, "companies", "prod").version == "v2"
    assert registry.resolve(store, "companies", "v1").version == "v1"  # exact versions stay
    assert registry.list_versions(store, "companies") == ["v1", "v2"]

    local = modelcache.fetch(store, registry.resolve(store, "companies", "prod"), tmp_path / "cache")
    assert (local / "model.safetensors").read_bytes() == b"weights-2" * 1000
    assert modelcache.verify_cached(registry.resolve(store, "companies", "v2"), tmp_path / "cache") == []


def test_versions_are_immutable_and_names_checked(store, tmp_path):
    registry.push_model(store, _model_dir(tmp_path), task="companies", version="v1")
    with pytest.raises(registry.RegistryError, match="immutable"):
        registry.push_model(store, _model_dir(tmp_path, "other"), task="companies", version="v1")
    for bad in ("prod", "../x", ""):
        with pytest.raises(registry.RegistryError):
            registry.push_model(store, _model_dir(tmp_path, f"b{len(bad)}"), task="companies", version=bad)
    with pytest.raises(registry.RegistryError, match="no 'prod' model"):
        registry.resolve(store, "category", "prod")
    with pytest.raises(registry.RegistryError, match="unknown stage"):
        registry.promote(store, "companies", "v1", "canary")


def test_a_corrupt_model_is_refused_with_the_file_named(store, tmp_path):
    registry.push_model(store, _model_dir(tmp_path), task="companies", version="v1")
    resolved = registry.resolve(store, "companies", "v1")
    # Bit rot (or a hand edit) in the registry copy of the weights:
    path = store.root / keys.model_prefix("companies", "v1") / "model.safetensors"
    path.write_bytes(b"x" + path.read_bytes()[1:])
    with pytest.raises(PermanentError, match=r"checksum mismatch for model\.safetensors"):
        modelcache.fetch(store, resolved, tmp_path / "cache")
    # Nothing half-downloaded is left where a job would look for the model.
    assert not (tmp_path / "cache" / "companies" / "v1").exists()
    assert not list((tmp_path / "cache" / "companies").glob(".tmp-*"))


def test_a_manifest_changed_after_promotion_is_refused(store, tmp_path):
    registry.push_model(store, _model_dir(tmp_path), task="companies", version="v1")
    registry.promote(store, "companies", "v1", "prod")
    key = keys.model_manifest("companies", "v1")
    store.put(key, store.get(key).replace(b'"source"', b'"source" '))
    with pytest.raises(registry.CorruptModel, match="changed after it was promoted"):
        registry.resolve(store, "companies", "prod")


def test_concurrent_jobs_publish_one_complete_copy(store, tmp_path):
    registry.push_model(store, _model_dir(tmp_path), task="companies", version="v1")
    resolved = registry.resolve(store, "companies", "v1")
    cache = tmp_path / "cache"
    results: list[Path | BaseException] = []

    def job() -> None:
        try:
            results.append(modelcache.fetch(store, resolved, cache))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            results.append(exc)

    threads = [threading.Thread(target=job) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(isinstance(r, Path) for r in results), results
    assert len(set(results)) == 1
    assert registry.verify_dir(results[0], resolved.manifest) == []  # type: ignore[arg-type]
    assert not list((cache / "companies").glob(".tmp-*"))


def test_a_broken_cache_entry_is_replaced_not_loaded(store, tmp_path):
    registry.push_model(store, _model_dir(tmp_path), task="companies", version="v1")
    resolved = registry.resolve(store, "companies", "v1")
    cache = tmp_path / "cache"
    entry = cache / "companies" / "v1"
    entry.mkdir(parents=True)
    (entry / "model.safetensors").write_text("left by an older, unverified copy")
    local = modelcache.fetch(store, resolved, cache)
    assert registry.verify_dir(local, resolved.manifest) == []


def test_a_run_keeps_the_version_pinned_at_ingest(store, tmp_path):
    from datetime import UTC, datetime

    from chalicelib.contract.schema import InputRef, RunManifest

    registry.push_model(store, _model_dir(tmp_path), task="companies", version="v1")
    registry.promote(store, "companies", "v1", "prod")
    spec = TaskSpec(name="companies", kind="token-classification", model="registry:companies",
                    model_version="prod")
    pins = registry.pin_models(store, [spec])
    assert pins["companies"]["version"] == "v1" and len(pins["companies"]["sha256"]) == 64
    manifest = RunManifest(run_id="r", created=datetime.now(UTC),
                           input=InputRef(uri="u", key="k", etag="e", size=1), chunk_size=1,
                           chunks=[], articles={}, tasks=[spec], code_version="c", models=pins)
    registry.push_model(store, _model_dir(tmp_path, "weights-2"), task="companies", version="v2")
    registry.promote(store, "companies", "v2", "prod")  # promoted while the run is in flight
    assert resolve_task_model(store, spec, manifest).version == "v1"
    assert resolve_task_model(store, spec).version == "v2"  # a run without a pin takes the stage
