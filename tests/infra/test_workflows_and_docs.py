"""CI/CD workflows and the deploy guide say what the issue asks (structure; the schema and
checkov's GitHub Actions checks run in test_template_checks)."""

from __future__ import annotations

import re

import yaml

from scripts.deploy.layout import REPO

WF = REPO / ".github" / "workflows"


def load(name: str) -> dict:
    doc = yaml.safe_load((WF / name).read_text())
    doc["on"] = doc.pop(True, doc.get("on"))  # YAML 1.1 reads the key `on` as True
    return doc


def test_pull_requests_run_lint_tests_and_template_checks() -> None:
    ci = load("ci.yml")
    assert "pull_request" in ci["on"] and "workflow_call" in ci["on"]
    runs = [s.get("run", "") for s in ci["jobs"]["test"]["steps"]]
    assert any("make test" in r for r in runs) and any("make package" in r for r in runs)
    assert ci["permissions"] == {"contents": "read"}


def test_main_builds_image_publishes_models_deploys_and_smoke_checks() -> None:
    wf = load("deploy.yml")
    assert wf["on"]["push"]["branches"] == ["main"]
    jobs = wf["jobs"]
    assert jobs["test"]["uses"] == "./.github/workflows/ci.yml"
    assert "needs.changes.outputs.image == 'true'" in jobs["image"]["if"]
    image = "\n".join(s.get("run", "") for s in jobs["image"]["steps"])
    assert "docker build -f batch_container/Dockerfile" in image and '${GITHUB_SHA}' in image
    assert "RepoDigests" in image, "the pushed digest is recorded"
    assert "publish_models" in "\n".join(s.get("run", "") for s in jobs["models"]["steps"])
    deploy_runs = [s.get("run", "") for s in jobs["deploy"]["steps"]]
    assert any("make deploy" in r and "IMAGE_URI" in r for r in deploy_runs)
    assert deploy_runs[-1].startswith("make smoke"), "the last step checks GET /health"
    assert set(jobs["deploy"]["needs"]) == {"test", "changes", "image", "models"}
    for name in ("image", "models", "deploy"):
        assert jobs[name]["permissions"]["id-token"] == "write", f"{name}: OIDC to AWS, no stored keys"
    assert wf["permissions"] == {"contents": "read"}


def test_workflows_use_no_stored_aws_keys() -> None:
    for path in WF.glob("*.yml"):
        text = path.read_text()
        assert "AWS_SECRET_ACCESS_KEY" not in text and "aws-secret-access-key" not in text, path.name
        for ref in re.findall(r"uses:\s*(\S+)", text):
            assert ref.startswith("./") or "@" in ref, f"{path.name}: unpinned action {ref}"


def test_guide_has_the_commands_permissions_costs_and_rollback() -> None:
    doc = (REPO / "docs" / "deploy.md").read_text()
    for needle in ("make deploy STAGE=dev", "make smoke STAGE=dev", "make package STAGE=dev",
                   "## 7. IAM permissions the deployer needs", "## 8. Cost knobs", "## 9. Roll back",
                   "ComputeType", "MaxvCpus", "InstanceTypes", "LogRetentionDays", "newsops model promote"):
        assert needle in doc, f"docs/deploy.md lacks {needle!r}"
