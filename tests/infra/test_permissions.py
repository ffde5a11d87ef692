"""The IAM check both ways (issue #15): chalicelib/permissions.py's table against the code's
boto3 calls and against the rendered template's role policies.

moto enforces no IAM, so a missing grant passes every moto test and fails on AWS: ingest's
rejected-input path (delete the chunks written, abort a streamed write) once did exactly that.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.client
import pytest

from chalicelib import permissions
from chalicelib.permissions import CALLERS, NOT_FROM_A_FUNCTION, PLATFORM, ROLES
from scripts.deploy.layout import FUNCTIONS


def _actions(statement: dict[str, Any]) -> set[str]:
    a = statement["Action"]
    return {a} if isinstance(a, str) else set(a)


def granted(resources: dict[str, Any], role: str) -> set[str]:
    """Every action the role's inline policies and the policies attached to it grant."""
    found: set[str] = set()
    for policy in resources[role]["Properties"].get("Policies", []):
        for s in policy["PolicyDocument"]["Statement"]:
            found |= _actions(s)
    for res in resources.values():
        if res["Type"] == "AWS::IAM::Policy" and {"Ref": role} in res["Properties"]["Roles"]:
            for s in res["Properties"]["PolicyDocument"]["Statement"]:
                found |= _actions(s)
    return found


def test_every_function_of_the_app_has_a_row() -> None:
    assert set(FUNCTIONS) <= set(CALLERS), "a function without a row in chalicelib/permissions.py"
    assert {c: ROLES[c] for c in FUNCTIONS} == {name: fn.role for name, fn in FUNCTIONS.items()}


@pytest.mark.parametrize("caller", sorted(CALLERS))
def test_the_template_grants_each_role_exactly_what_its_code_calls(resources: dict[str, Any], caller: str) -> None:
    grants = granted(resources, ROLES[caller])
    needed = set(CALLERS[caller])
    assert not needed - grants, f"{ROLES[caller]} lacks {sorted(needed - grants)} (AccessDenied on AWS)"
    assert not grants - needed, f"{ROLES[caller]} grants {sorted(grants - needed)}, which {caller} never calls"


def test_every_action_in_the_table_is_one_the_code_or_the_platform_calls() -> None:
    callable_ = permissions.client_actions()
    for caller, actions in CALLERS.items():
        phantom = {a for a in actions if a not in callable_ and a not in PLATFORM}
        assert not phantom, f"{caller}: no code calls {sorted(phantom)}"
        assert all(why.strip() for why in actions.values()), caller


def test_every_client_call_in_the_code_has_a_caller_or_a_reason() -> None:
    tabled = set().union(*CALLERS.values())
    orphans = {a: files for a, files in permissions.client_actions().items()
               if a not in tabled and a not in NOT_FROM_A_FUNCTION}
    assert not orphans, f"boto3 calls no row of chalicelib/permissions.py names: {orphans}"
    assert not set(NOT_FROM_A_FUNCTION) & tabled


def test_the_scan_reads_operations_as_iam_names_them(tmp_path: Path) -> None:
    src = tmp_path / "adapter.py"
    src.write_text("class A:\n    def f(self):\n        self._s3.delete_object(Bucket='b', Key='k')\n"
                   "        self.s3.abort_multipart_upload(Bucket='b', Key='k', UploadId='u')\n"
                   "        self._s3.get_paginator('list_objects_v2')\n        self._s3.upload_part()\n"
                   "        {}.get('not an s3 call')\n")
    ops = {op for op, _ in permissions.client_calls(src, "s3")}
    assert ops == {"DeleteObject", "AbortMultipartUpload", "ListObjectsV2", "UploadPart"}
    assert permissions.iam_actions("s3", "ListObjectsV2") == ("s3:ListBucket",)
    assert permissions.iam_actions("s3", "UploadPart") == ("s3:PutObject",)
    assert permissions.iam_actions("stepfunctions", "StartExecution") == ("states:StartExecution",)


# ------------------------------------------------------------------ ingest's real calls (moto)
@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[tuple[Any, list[str]]]:
    from chalicelib.factory import build_runtime
    from chalicelib.runtime import set_runtime
    from tests.aws.moto_world import World, mocked_aws

    calls: list[str] = []
    real = botocore.client.BaseClient._make_api_call

    def record(self: Any, operation: str, params: dict[str, Any]) -> Any:
        service = self.meta.service_model.service_name
        calls.extend(permissions.iam_actions(service, operation)[:1] if operation != "GetObject" or
                     "VersionId" not in params else ["s3:GetObjectVersion"])
        return real(self, operation, params)

    with mocked_aws(monkeypatch, execute=False):
        w = World.create(task_names=("embed",), with_pipeline=True)
        tasks = tmp_path / "tasks.json"
        tasks.write_text(json.dumps({"tasks": [
            {"name": "embed", "kind": "embedding", "model": "none", "timeout_s": 600}]}))
        rt = build_runtime(w.settings(home=tmp_path / "home", tasks_file=tasks, chunk_size=20))
        previous = set_runtime(rt)
        monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", record)
        try:
            yield w, calls
        finally:
            set_runtime(previous)


def _lines(n: int) -> bytes:
    return "".join(json.dumps({"url": f"https://news.example/a/{i}", "title": f"Story {i}",
                               "body": f"Northwind Holdings said revenue rose {i} percent. " * 20,
                               "language": "en"}) + "\n" for i in range(n)).encode()


def test_ingests_calls_on_its_accepted_and_rejected_paths_are_all_in_its_row(recorded) -> None:
    import app
    from chalicelib.store.base import ObjectInfo
    from chalicelib.store.events import object_created_event

    w, calls = recorded
    s3 = w.client("s3")
    good = gzip.compress(_lines(50))
    truncated = gzip.compress(_lines(400))
    truncated = truncated[: len(truncated) * 3 // 4]  # chunks are written before the end is found
    outcomes = {}
    for name, body in (("good", good), ("truncated", truncated)):
        key = f"incoming/2026-11-27/{name}.jsonl.gz"
        s3.put_object(Bucket=w.bucket, Key=key, Body=body)
        head = s3.head_object(Bucket=w.bucket, Key=key)
        info = ObjectInfo(key=key, size=head["ContentLength"], etag=head["ETag"].strip('"'),
                          version=head.get("VersionId"))
        calls.clear()
        outcomes[name] = app.on_object_created(object_created_event(w.bucket, info), None)["status"]
        made = set(calls)
        missing = made - set(CALLERS["ingest"])
        assert not missing, f"ingest ({name}) called {sorted(missing)}, which its row (and role) lack"
        if name == "truncated":
            assert "s3:DeleteObject" in made, "the rejected path deletes the chunks it wrote"
    assert outcomes == {"good": "started", "truncated": "rejected"}
