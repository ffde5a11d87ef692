"""Lineage on AWS (moto): the ingest Lambda records the deployed image, the code version and the
model lock's pins in the manifest in S3; the job reports its image and code version in each
result's S3 metadata, and a package that differs from the run's pin exits 65 without a result.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from newsops_batch import entrypoint

from chalicelib import modellock
from chalicelib.contract import keys
from chalicelib.contract.exitcodes import PERMANENT_EXIT
from chalicelib.contract.schema import RunManifest, TaskSpec
from chalicelib.factory import build_runtime
from chalicelib.lineage import IMAGE_ENV, code_version
from chalicelib.runtime import Runtime, set_runtime
from chalicelib.steps.ingest import ingest_object
from tests.aws.moto_world import World, mocked_aws
from tests.support import fakedist

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/newsops-test-batch@sha256:" + "ab" * 32
TASK = {"name": "probe", "kind": "text-classification", "model": f"package:{fakedist.PROBE}",
        "model_version": "probe-v1", "timeout_s": 600}


class Labels:
    def run(self, articles):
        return [{"label": "x", "score": 1.0} for _ in articles]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[tuple[World, Runtime, Path]]:
    site = tmp_path / "site"
    fakedist.install(site, "1.0", b"weights-1")
    fakedist.on_path(site)
    lock = tmp_path / "model_lock.json"
    lock.write_text(modellock.build_lock([TaskSpec.model_validate(TASK)]).model_dump_json())
    # What the deploy gives the ingest Lambda and the job definition (stack output BatchImageUri).
    monkeypatch.setenv(IMAGE_ENV, IMAGE)
    monkeypatch.setenv(modellock.LOCK_ENV, str(lock))
    with mocked_aws(monkeypatch, execute=False):
        w = World.create(task_names=("probe",), with_pipeline=True)
        tasks = tmp_path / "tasks.json"
        tasks.write_text(json.dumps({"tasks": [TASK]}))
        rt = build_runtime(w.settings(home=tmp_path / "home", tasks_file=tasks, chunk_size=3))
        previous = set_runtime(rt)
        try:
            yield w, rt, site
        finally:
            set_runtime(previous)
            import sys

            sys.path.remove(str(site))


def _ingest(w: World, rt: Runtime, name: str) -> tuple[str, RunManifest]:
    lines = [json.dumps({"url": f"https://news.example/{name}/{i}", "title": f"Story {i}",
                         "body": f"Northwind Holdings said revenue rose {i} percent.", "language": "en"})
             for i in range(5)]
    key = f"incoming/2026-11-27/{name}.jsonl.gz"
    info = rt.store.put(key, gzip.compress(("\n".join(lines) + "\n").encode()))
    outcome = ingest_object(key, info.etag, rt, size=info.size)
    assert outcome.status == "started", outcome
    body = w.client("s3").get_object(Bucket=w.bucket, Key=keys.manifest(outcome.run_id))["Body"].read()
    return outcome.run_id, RunManifest.model_validate_json(body)


def test_the_manifest_in_s3_and_each_result_carry_image_code_version_and_model_hash(aws):
    w, rt, _ = aws
    rid, manifest = _ingest(w, rt, "lineage")
    pin = modellock.installed_pin(fakedist.PROBE)
    assert manifest.image == IMAGE
    assert manifest.code_version == code_version() and manifest.code_version not in ("", "unknown")
    assert manifest.models["probe"]["sha256"] == pin.sha256
    assert manifest.models["probe"][f"package:{fakedist.PROBE}"] == pin.text()
    assert manifest.models["probe"]["version"] == "probe-v1"

    for n in range(len(manifest.chunks)):
        argv = ["--run-id", rid, "--task", "probe", "--chunk", str(n)]
        assert entrypoint.main(argv, store=rt.store, runner=Labels()) == 0
        head = w.client("s3").head_object(Bucket=w.bucket, Key=keys.result(rid, "probe", n))
        meta = head["Metadata"]
        assert meta["image"] == IMAGE and meta["code_version"] == manifest.code_version
        assert meta["model_sha256"] == pin.sha256 and meta["model_version"] == "probe-v1"


def test_a_package_upgraded_behind_the_pin_exits_65_and_writes_no_result(aws, caplog):
    w, rt, site = aws
    rid, manifest = _ingest(w, rt, "upgraded")
    pinned = manifest.models["probe"][f"package:{fakedist.PROBE}"]
    fakedist.install(site, "2.0", b"weights-2")  # the image now has another version
    argv = ["--run-id", rid, "--task", "probe", "--chunk", "0"]
    assert entrypoint.main(argv, store=rt.store, runner=Labels()) == PERMANENT_EXIT
    assert f"expected {pinned}, installed {fakedist.PROBE_DIST}==2.0 sha256:" in caplog.text
    listed = w.client("s3").list_objects_v2(Bucket=w.bucket, Prefix=f"runs/{rid}/results/")
    assert listed.get("KeyCount", 0) == 0
