"""The batch entrypoint as the container runs it: a process, a store, a registry model."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from chalicelib import registry
from chalicelib.contract import keys
from chalicelib.contract.exitcodes import PERMANENT_EXIT
from chalicelib.contract.schema import ChunkInfo, InputRef, RunManifest, TaskSpec
from chalicelib.jsonl import iter_records
from chalicelib.store.local import LocalObjectStore


def _good(i: int) -> bytes:
    return json.dumps({"url": f"https://news.example/{i}", "title": f"Energy report {i}",
                       "body": "oil and gas prices rose after the report " * (i + 1)}).encode()


BAD = {
    "empty body": json.dumps({"url": "https://news.example/e", "title": "t", "body": "   "}).encode(),
    "5 MB text": json.dumps({"url": "https://news.example/big", "title": "t", "body": "word " * 1_000_000}).encode(),
    "invalid utf-8": b'{"url": "https://news.example/u", "title": "t", "body": "caf\xe9 \xff"}',
    "wrong schema": json.dumps({"link": "https://news.example/s", "headline": "t"}).encode(),
    "not an object": b"[1, 2, 3]",
}


def _setup_run(store: LocalObjectStore, rid: str, spec: TaskSpec) -> RunManifest:
    lines = [_good(0), BAD["empty body"], _good(1), BAD["5 MB text"], BAD["invalid utf-8"],
             _good(2), BAD["wrong schema"], BAD["not an object"]]
    data = gzip.compress(b"".join(line + b"\n" for line in lines))
    store.put(keys.chunk(rid, 0), data)
    manifest = RunManifest(
        run_id=rid, created=datetime.now(UTC), input=InputRef(uri="u", key="k", etag="e", size=1),
        chunk_size=10, chunks=[ChunkInfo(index=0, key=keys.chunk(rid, 0), records=len(lines),
                                         sha256=hashlib.sha256(data).hexdigest())],
        articles={"input": len(lines), "valid": len(lines), "quarantined": 0}, tasks=[spec],
        code_version="test", models=registry.pin_models(store, [spec]))
    store.put(keys.manifest(rid), manifest.model_dump_json().encode())
    return manifest


def _run(home: Path, rid: str, task: str, chunk: int = 0) -> subprocess.CompletedProcess:
    env = {**os.environ, "NEWSOPS_HOME": str(home), "NEWSOPS_BACKEND": "local",
           "NEWSOPS_MODEL_CACHE": str(home / "model-cache"), "HF_HUB_OFFLINE": "1",
           "NEWSOPS_PRECISION": "fp32", "NEWSOPS_TORCH_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "newsops_batch", "--run-id", rid, "--task", task,
                           "--chunk", str(chunk)], env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def home(tmp_path: Path, tiny_models: dict[str, Path]) -> Path:
    home = tmp_path / "home"
    store = LocalObjectStore(home / "store")
    registry.push_model(store, tiny_models["classifier"], task="topic", version="v1", source="tiny")
    registry.promote(store, "topic", "v1", "prod")
    return home


def test_bad_records_are_quarantined_with_reasons_and_the_chunk_succeeds(home):
    store = LocalObjectStore(home / "store")
    spec = TaskSpec(name="topic", kind="text-classification", model="registry:topic",
                    model_version="prod", max_length=32)
    manifest = _setup_run(store, "run-a", spec)

    proc = _run(home, "run-a", "topic")
    assert proc.returncode == 0, proc.stderr[-3000:]
    info = store.head(keys.result("run-a", "topic", 0))
    assert info is not None
    results = list(iter_records(io.BytesIO(store.get(keys.result("run-a", "topic", 0)))))
    quarantined = [json.loads(x) for x in store.get(keys.task_quarantine("run-a", "topic", 0)).splitlines()]
    assert len(results) == 3 and {r["output"]["label"] for r in results} <= {"earnings", "energy", "labor"}
    reasons = [q["reason"] for q in quarantined]
    assert len(reasons) == 5
    assert any(r.startswith("invalid article: body") for r in reasons)
    assert any(r.startswith("record too long") for r in reasons)
    assert any(r.startswith("invalid UTF-8") for r in reasons)
    assert any("url" in r and "Field required" in r for r in reasons)
    assert any("should be an object" in r for r in reasons)
    # Counts reconcile the way verify checks them.
    assert int(info.metadata["records"]) + int(info.metadata["quarantined"]) == manifest.chunks[0].records
    # Lineage: the registry version and its manifest's sha256.
    assert info.metadata["model_version"] == "v1"
    assert info.metadata["model_sha256"] == manifest.models["topic"]["sha256"]

    again = _run(home, "run-a", "topic")
    assert again.returncode == 0 and "already done" in again.stderr


def test_a_corrupt_registry_model_fails_the_job_permanently_with_a_clear_error(home):
    store = LocalObjectStore(home / "store")
    spec = TaskSpec(name="topic", kind="text-classification", model="registry:topic",
                    model_version="prod", max_length=32)
    _setup_run(store, "run-b", spec)
    shutil.rmtree(home / "model-cache", ignore_errors=True)
    weights = store.root / keys.model_prefix("topic", "v1") / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-10] + b"0123456789")

    proc = _run(home, "run-b", "topic")
    assert proc.returncode == PERMANENT_EXIT
    assert "checksum mismatch for model.safetensors" in proc.stderr
    assert not store.exists(keys.result("run-b", "topic", 0))


def test_the_job_builds_its_store_from_its_environment_alone(tmp_path):
    from newsops_batch.jobstore import JobConfigError, job_store

    from chalicelib.store.local import LocalObjectStore

    store = job_store({"NEWSOPS_BACKEND": "local", "NEWSOPS_HOME": str(tmp_path)})
    assert isinstance(store, LocalObjectStore) and store.root == (tmp_path / "store").resolve()
    with pytest.raises(JobConfigError, match="NEWSOPS_BUCKET is not set"):
        job_store({"NEWSOPS_BACKEND": "aws"})
    with pytest.raises(JobConfigError, match="must be local or aws"):
        job_store({"NEWSOPS_BACKEND": "gcs"})
