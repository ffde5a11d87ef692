"""How the image and the code version reach a run's lineage on AWS (chalicelib/lineage.py):
the job definitions and every Lambda are told the image; the image carries its commit."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from chalicelib.lineage import CODE_VERSION_ENV, IMAGE_ENV
from scripts.deploy import package, stage_config
from scripts.deploy.layout import ENV_FROM_OUTPUTS, FUNCTIONS, LINEAGE_ENV_FROM_OUTPUTS, REPO


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["Name"]: e["Value"] for e in container["Environment"] if "Name" in e}


def test_every_job_definition_tells_the_job_the_image_it_runs(stack: dict[str, Any]) -> None:
    definitions = {k: v for k, v in stack["Resources"].items() if v["Type"] == "AWS::Batch::JobDefinition"}
    assert {"JobDefinitionEmbedding", "TrainJobDefinition"} <= set(definitions)
    for lid, d in definitions.items():
        container = d["Properties"]["ContainerProperties"]
        assert _env(container)[IMAGE_ENV] == container["Image"], lid
        assert container["Image"]["Fn::If"][1] == {"Ref": "ImageUri"}, lid


def test_every_lambda_is_told_the_image_from_the_stack_output(stack: dict[str, Any], tmp_path: Path) -> None:
    assert LINEAGE_ENV_FROM_OUTPUTS == {IMAGE_ENV: "BatchImageUri"}
    output = stack["Outputs"]["BatchImageUri"]["Value"]
    job_image = stack["Resources"]["JobDefinitionEmbedding"]["Properties"]["ContainerProperties"]["Image"]
    assert output == job_image, "the Lambdas record the image the jobs run"
    # make deploy: the stage config
    outputs = {o: f"value-of-{o}" for o in ENV_FROM_OUTPUTS.values()}
    outputs.update({f.role_output: f"arn:aws:iam::123456789012:role/{f.name}" for f in FUNCTIONS.values()})
    outputs["BatchImageUri"] = "repo@sha256:" + "c" * 64
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"version": "2.0", "app_name": "newsops", "stages": {}}))
    env = stage_config.write_stage_config("qa", outputs, config_path=config, code_version="abc123")["environment_variables"]
    assert env[IMAGE_ENV] == "repo@sha256:" + "c" * 64 and env[CODE_VERSION_ENV] == "abc123"
    # make package: the same expression as the output, and the commit packaged
    overlay = package.function_overlay("ingest", stack)["Properties"]["Environment"]["Variables"]
    assert overlay[IMAGE_ENV] == output and overlay[CODE_VERSION_ENV]


def test_the_image_carries_its_commit_and_refuses_model_packages_other_than_the_lock() -> None:
    text = (REPO / "batch_container" / "Dockerfile").read_text()
    final = text[text.rindex("\nFROM "):]
    assert re.search(r"^ARG NEWSOPS_CODE_VERSION", final, re.M), "declared in the final stage"
    assert "NEWSOPS_CODE_VERSION=${NEWSOPS_CODE_VERSION}" in final
    assert "python -m chalicelib.modellock check" in text
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "deploy.yml").read_text())
    build = "\n".join(s.get("run", "") for s in workflow["jobs"]["image"]["steps"])
    assert '--build-arg NEWSOPS_CODE_VERSION="${GITHUB_SHA}"' in build
