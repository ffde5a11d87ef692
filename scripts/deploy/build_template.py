"""infra/newsops.yaml -> build/infra/newsops.json: the deployable stack template.

Adds what CloudFormation cannot read from the repository by itself:

- each state machine's ``Definition``, from the file its ``Metadata`` names
  (``newsops.definition-file``: statemachine/pipeline.asl.json, statemachine/train.asl.json;
  ``${Placeholders}`` stay, the template's ``DefinitionSubstitutions`` fill them at deploy time);
- one ``AWS::Batch::JobDefinition`` per task of chalicelib/config/tasks.json, named
  ``<AppName>-<Stage>-<task>`` (= ``NEWSOPS_JOB_DEFINITION_PREFIX-<task>``), with the task's
  GPU/vCPU/memory, ``attemptDurationSeconds`` and a ``retryStrategy`` whose ``evaluateOnExit``
  retries the entrypoint's retryable exit code and reclaimed Spot hosts;
- ``TrainJobDefinition``, ``<AppName>-<Stage>-train``: the training steps in the same image,
  sized by the stack's TrainGpus/TrainVcpus/TrainMemoryMiB, with the training role.

Also writes build/infra/bootstrap.json (infra/bootstrap.yaml as JSON).

Usage: python -m scripts.deploy.build_template [--out build/infra/newsops.json]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from chalicelib.compute import retry_policy
from chalicelib.contract.schema import TaskSpec
from chalicelib.contract.taskconfig import load_tasks
from chalicelib.settings import Settings
from scripts.deploy import cfn
from scripts.deploy.layout import (
    BOOTSTRAP_SOURCE,
    BUILT_BOOTSTRAP,
    BUILT_TEMPLATE,
    INFRA_SOURCE,
    REPO,
    TASKS_FILE,
    TEMPLATE_BODY_LIMIT,
    TRAIN_JOB_DEFINITION,
)

MIN_ATTEMPT_SECONDS = 60  # AWS Batch minimum for attemptDurationSeconds
# The image every job definition runs: the ImageUri parameter (<repository>@sha256:<digest>,
# from CI), else the stack's repository tagged bootstrap. The same value is the job's
# NEWSOPS_IMAGE (chalicelib/lineage.py): the job cannot read its own digest, so it is told.
BATCH_IMAGE: dict[str, Any] = {"Fn::If": ["HasImageUri", {"Ref": "ImageUri"},
                                          {"Fn::Sub": "${BatchImageRepository.RepositoryUri}:bootstrap"}]}
MODEL_CACHE_PATH = "/mnt/models"

# The jobs' one retry policy (chalicelib/compute/retry_policy.py, which the local compute
# applies too): first match wins; no match at all means RETRY (Batch's default), within
# `attempts`. The state machines pass no RetryStrategy, which would replace this one.
EVALUATE_ON_EXIT: list[dict[str, str]] = retry_policy.cloudformation_rules()


def logical_id(task: str) -> str:
    return "JobDefinition" + "".join(p.capitalize() for p in re.split(r"[^A-Za-z0-9]+", task) if p)


def _environment(*extra: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"Name": "NEWSOPS_BACKEND", "Value": "aws"},
        {"Name": "NEWSOPS_STAGE", "Value": {"Ref": "Stage"}},
        {"Name": "NEWSOPS_BUCKET", "Value": {"Ref": "DataBucket"}},
        {"Name": "NEWSOPS_IMAGE", "Value": BATCH_IMAGE},
        *extra,
        {"Name": "HF_HUB_OFFLINE", "Value": "1"},
        {"Name": "TRANSFORMERS_OFFLINE", "Value": "1"},
        {"Fn::If": ["UseModelCache", {"Name": "NEWSOPS_MODEL_CACHE", "Value": MODEL_CACHE_PATH},
                    {"Ref": "AWS::NoValue"}]},
    ]


def _container(role: str, requirements: list[Any], environment: list[dict[str, Any]],
               log_prefix: str) -> dict[str, Any]:
    return {
        # The image's ENTRYPOINT runs `python -m newsops_batch`: a chunk job's run id and task
        # come from the environment (SubmitJob overrides), the chunk from
        # AWS_BATCH_JOB_ARRAY_INDEX; a training step's `train|evaluate|register ID` is its CMD.
        "Image": BATCH_IMAGE,
        "JobRoleArn": {"Fn::GetAtt": [role, "Arn"]},
        "ResourceRequirements": requirements,
        "Environment": environment,
        "Privileged": False,
        "LogConfiguration": {
            "LogDriver": "awslogs",
            "Options": {
                "awslogs-group": {"Ref": "BatchJobLogGroup"},
                "awslogs-region": {"Ref": "AWS::Region"},
                "awslogs-stream-prefix": log_prefix,
            },
        },
        "Volumes": {"Fn::If": ["UseModelCache", [{
            "Name": "models",
            "EfsVolumeConfiguration": {
                "FileSystemId": {"Ref": "ModelCacheFileSystem"},
                "TransitEncryption": "ENABLED",
                "AuthorizationConfig": {"AccessPointId": {"Ref": "ModelCacheAccessPoint"}, "Iam": "ENABLED"},
            },
        }], {"Ref": "AWS::NoValue"}]},
        "MountPoints": {"Fn::If": ["UseModelCache", [
            {"SourceVolume": "models", "ContainerPath": MODEL_CACHE_PATH, "ReadOnly": False},
        ], {"Ref": "AWS::NoValue"}]},
    }


def job_definition(task: TaskSpec) -> dict[str, Any]:
    requirements: list[Any] = [
        {"Type": "VCPU", "Value": str(task.vcpus)},
        {"Type": "MEMORY", "Value": str(task.memory_mib)},
    ]
    if task.gpu:
        requirements.append({"Type": "GPU", "Value": str(task.gpu)})
    container = _container("BatchJobRole", requirements,
                           _environment({"Name": "NEWSOPS_TASK", "Value": task.name}), task.name)
    return {
        "Type": "AWS::Batch::JobDefinition",
        "Properties": {
            "JobDefinitionName": {"Fn::Sub": f"${{AppName}}-${{Stage}}-{task.name}"},
            "Type": "container",
            "PlatformCapabilities": ["EC2"],
            "PropagateTags": True,
            "Timeout": {"AttemptDurationSeconds": max(MIN_ATTEMPT_SECONDS, task.timeout_s)},
            "RetryStrategy": {"Attempts": retry_policy.task_strategy(task).attempts,
                              "EvaluateOnExit": EVALUATE_ON_EXIT},
            "ContainerProperties": container,
            "Tags": {"newsops-stage": {"Ref": "Stage"}, "newsops-task": task.name},
        },
    }


def train_job_definition() -> dict[str, Any]:
    """The training steps' job definition. The train state machine sets each submission's
    attempts, timeout and CMD (and a GPU when the task asks for one); these are the defaults."""
    defaults = Settings.model_fields
    requirements: list[Any] = [
        {"Type": "VCPU", "Value": {"Ref": "TrainVcpus"}},
        {"Type": "MEMORY", "Value": {"Ref": "TrainMemoryMiB"}},
        {"Fn::If": ["TrainOnGpu", {"Type": "GPU", "Value": {"Ref": "TrainGpus"}}, {"Ref": "AWS::NoValue"}]},
    ]
    return {
        "Type": "AWS::Batch::JobDefinition",
        "Properties": {
            "JobDefinitionName": {"Fn::Sub": f"${{AppName}}-${{Stage}}-{TRAIN_JOB_DEFINITION}"},
            "Type": "container",
            "PlatformCapabilities": ["EC2"],
            "PropagateTags": True,
            "Timeout": {"AttemptDurationSeconds": defaults["train_timeout_s"].default},
            "RetryStrategy": {"Attempts": defaults["job_attempts"].default, "EvaluateOnExit": EVALUATE_ON_EXIT},
            "ContainerProperties": _container("TrainJobRole", requirements, _environment(), TRAIN_JOB_DEFINITION),
            "Tags": {"newsops-stage": {"Ref": "Stage"}, "newsops-step": "training"},
        },
    }


def build(source: Path = INFRA_SOURCE, tasks_file: Path = TASKS_FILE) -> dict[str, Any]:
    template = cfn.load(source)
    resources = template["Resources"]
    machines = {lid: r for lid, r in resources.items() if r["Type"] == "AWS::StepFunctions::StateMachine"}
    for lid, machine in machines.items():
        name = machine.get("Metadata", {}).get("newsops", {}).get("definition-file")
        if not name:
            raise ValueError(f"{source}: state machine {lid} has no Metadata newsops.definition-file")
        machine["Properties"]["Definition"] = json.loads((REPO / name).read_text(encoding="utf-8"))

    tasks = load_tasks(tasks_file).tasks
    if any(t.name == TRAIN_JOB_DEFINITION for t in tasks):
        raise ValueError(f"a task may not be named {TRAIN_JOB_DEFINITION!r}: "
                         f"<AppName>-<Stage>-{TRAIN_JOB_DEFINITION} is the training job definition")
    resources["TrainJobDefinition"] = train_job_definition()
    template.setdefault("Outputs", {})["TrainJobDefinitionArn"] = {
        "Description": "job definition of the training steps", "Value": {"Ref": "TrainJobDefinition"}}
    for task in tasks:
        lid = logical_id(task.name)
        if lid in resources:
            raise ValueError(f"task {task.name!r}: logical id {lid} already used in {source}")
        resources[lid] = job_definition(task)
        template.setdefault("Outputs", {})[f"{lid}Arn"] = {
            "Description": f"job definition of task {task.name}",
            "Value": {"Ref": lid},
        }
    return template


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=BUILT_TEMPLATE)
    p.add_argument("--bootstrap-out", type=Path, default=BUILT_BOOTSTRAP)
    p.add_argument("--tasks-file", type=Path, default=TASKS_FILE)
    args = p.parse_args(argv)
    size = cfn.dump(cfn.load(BOOTSTRAP_SOURCE), args.bootstrap_out)
    print(f"wrote {args.bootstrap_out} ({size} bytes)")
    template = build(tasks_file=args.tasks_file)
    size = cfn.dump(template, args.out)
    if size > TEMPLATE_BODY_LIMIT:
        print(f"note: {args.out} is {size} bytes (> {TEMPLATE_BODY_LIMIT}): "
              "`make deploy` uploads it to the artifacts bucket and deploys it by URL")
    print(f"wrote {args.out} ({size} bytes, {len(template['Resources'])} resources)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
