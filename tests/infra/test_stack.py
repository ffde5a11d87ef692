"""What the stack must provide, checked on build/infra/newsops.json (no AWS account needed)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from chalicelib.contract.taskconfig import load_tasks
from chalicelib.settings import Settings
from chalicelib.workflow.definition import placeholders
from scripts.deploy import build_template
from scripts.deploy.layout import (
    DEFINITION,
    DEFINITION_SUBSTITUTIONS,
    ENV_FROM_OUTPUTS,
    FUNCTIONS,
    STATIC_ENV,
    TEMPLATE_BODY_LIMIT,
    TRAIN_DEFINITION,
    TRAIN_DEFINITION_SUBSTITUTIONS,
)


def of_type(resources: dict[str, Any], kind: str) -> dict[str, Any]:
    return {k: v for k, v in resources.items() if v["Type"] == kind}


def statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for policy in role["Properties"].get("Policies", []):
        out += policy["PolicyDocument"]["Statement"]
    return out


def actions(stmts: list[dict[str, Any]]) -> set[str]:
    found: set[str] = set()
    for s in stmts:
        a = s["Action"]
        found.update([a] if isinstance(a, str) else a)
    return found


# ------------------------------------------------------------------ every name the code expects
def test_every_resource_setting_is_provided_by_a_stack_output(stack: dict[str, Any]) -> None:
    """A Settings field without a usable default names a cloud resource: the stack must set it."""
    provided = set(ENV_FROM_OUTPUTS) | set(STATIC_ENV)
    needed = {f"NEWSOPS_{name.upper()}" for name, field in Settings.model_fields.items()
              if field.default == ""}
    needed |= {"NEWSOPS_BACKEND", "NEWSOPS_STAGE", "NEWSOPS_JOB_DEFINITION_PREFIX",
               "NEWSOPS_SEARCH_BACKEND", "NEWSOPS_SEARCH_INDEX"}
    missing = sorted(needed - provided)
    assert not missing, f"settings no stack output provides (add to ENV_FROM_OUTPUTS): {missing}"
    for var in provided:
        field = var.removeprefix("NEWSOPS_").lower()
        assert field in Settings.model_fields, f"{var} is not a chalicelib.settings.Settings field"
    outputs = stack["Outputs"]
    for var, output in ENV_FROM_OUTPUTS.items():
        assert output in outputs, f"{var} comes from output {output}, which the template does not have"


def test_every_function_role_is_an_output(stack: dict[str, Any], resources: dict[str, Any]) -> None:
    for fn in FUNCTIONS.values():
        assert resources[fn.role]["Type"] == "AWS::IAM::Role", fn
        assert stack["Outputs"][fn.role_output]["Value"] == {"Fn::GetAtt": [fn.role, "Arn"]}
        assert resources[fn.log_group]["Type"] == "AWS::Logs::LogGroup", fn


def test_log_groups_are_named_after_the_chalice_functions(resources: dict[str, Any]) -> None:
    for fn in FUNCTIONS.values():
        name = resources[fn.log_group]["Properties"]["LogGroupName"]["Fn::Sub"]
        assert name == "/aws/lambda/" + fn.physical_name("${AppName}", "${Stage}")


def test_every_app_function_has_a_role_and_config() -> None:
    from scripts.deploy.package import app_functions

    unknown = sorted(set(app_functions()) - set(FUNCTIONS))
    assert not unknown, (f"app.py functions without a stack role: {unknown}; add them to FUNCTIONS in "
                         "scripts/deploy/layout.py and infra/newsops.yaml")
    config = json.loads((DEFINITION.parents[1] / ".chalice" / "config.json").read_text())
    assert config["manage_iam_role"] is False and config["autogen_policy"] is False
    assert set(config["lambda_functions"]) <= set(FUNCTIONS)


def test_definition_placeholders_are_all_substituted(resources: dict[str, Any]) -> None:
    machine = resources["PipelineStateMachine"]["Properties"]
    used = placeholders(DEFINITION.read_text())
    assert used == set(machine["DefinitionSubstitutions"]) == set(DEFINITION_SUBSTITUTIONS)
    assert machine["Definition"] == json.loads(DEFINITION.read_text()), "definition not inlined verbatim"
    assert machine["DefinitionSubstitutions"]["JobQueueArn"] == {"Ref": "JobQueue"}
    for key in ("IndexFunctionArn", "VerifyFunctionArn", "CleanupFunctionArn"):
        fn = key.removesuffix("FunctionArn").lower()
        assert machine["DefinitionSubstitutions"][key]["Fn::Sub"].endswith(f":function:${{AppName}}-${{Stage}}-{fn}")


def test_train_definition_is_inlined_and_substituted(resources: dict[str, Any]) -> None:
    machine = resources["TrainStateMachine"]["Properties"]
    assert machine["Definition"] == json.loads(TRAIN_DEFINITION.read_text()), "definition not inlined verbatim"
    used = placeholders(TRAIN_DEFINITION.read_text())
    assert used == set(machine["DefinitionSubstitutions"]) == set(TRAIN_DEFINITION_SUBSTITUTIONS)
    assert machine["DefinitionSubstitutions"] == {"JobQueueArn": {"Ref": "JobQueue"},
                                                  "AlertsTopicArn": {"Ref": "AlertsTopic"}}
    assert machine["RoleArn"] == {"Fn::GetAtt": ["TrainStateMachineRole", "Arn"]}
    assert machine["StateMachineName"] == {"Fn::Sub": "${AppName}-${Stage}-train"}
    assert machine["TracingConfiguration"] == {"Enabled": True}
    [dest] = machine["LoggingConfiguration"]["Destinations"]
    assert dest["CloudWatchLogsLogGroup"]["LogGroupArn"] == {"Fn::GetAtt": ["TrainStateMachineLogGroup", "Arn"]}


def test_every_state_machine_names_its_definition_file(resources: dict[str, Any]) -> None:
    machines = of_type(resources, "AWS::StepFunctions::StateMachine")
    assert {lid: m["Metadata"]["newsops"]["definition-file"] for lid, m in machines.items()} == {
        "PipelineStateMachine": "statemachine/pipeline.asl.json",
        "TrainStateMachine": "statemachine/train.asl.json"}


def test_template_fits_cloudformation(stack: dict[str, Any]) -> None:
    size = len(json.dumps(stack, separators=(",", ":")))
    assert size < 1_000_000, "CloudFormation's limit for a template deployed from S3"
    # Over TEMPLATE_BODY_LIMIT it cannot go inline: deploy.py always deploys it by URL.
    assert TEMPLATE_BODY_LIMIT == 51_200
    assert len(stack["Resources"]) <= 500


# ------------------------------------------------------------------ data
def test_data_bucket(resources: dict[str, Any]) -> None:
    props = resources["DataBucket"]["Properties"]
    assert resources["DataBucket"]["DeletionPolicy"] == "Retain"
    assert props["VersioningConfiguration"]["Status"] == "Enabled"
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
        "ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert all(props["PublicAccessBlockConfiguration"].values())
    assert props["NotificationConfiguration"]["EventBridgeConfiguration"]["EventBridgeEnabled"] is True, \
        "ingest is triggered through EventBridge (Chalice cannot package on_s3_event)"
    prefixes = {r.get("Prefix") for r in props["LifecycleConfiguration"]["Rules"]}
    assert {"raw/", "runs/"} <= prefixes


def test_tables_have_pitr_and_survive_stack_deletion(resources: dict[str, Any]) -> None:
    tables = of_type(resources, "AWS::DynamoDB::Table")
    assert set(tables) == {"RunsTable", "StateTable"}
    for name, table in tables.items():
        assert table["DeletionPolicy"] == "Retain" and table["UpdateReplacePolicy"] == "Retain", name
        assert table["Properties"]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


def test_tables_have_the_shape_the_dynamodb_ledger_expects(resources: dict[str, Any]) -> None:
    # The project's own module: a missing one fails the test, it is never skipped.
    from chalicelib.ledger import dynamodb as ledger
    for lid, shape in (("RunsTable", ledger.RUNS_TABLE), ("StateTable", ledger.STATE_TABLE)):
        props = resources[lid]["Properties"]
        assert props["KeySchema"] == shape["KeySchema"], lid
        assert sorted(map(json.dumps, props["AttributeDefinitions"])) == \
            sorted(map(json.dumps, shape["AttributeDefinitions"])), lid
        got = {i["IndexName"]: i["KeySchema"] for i in props.get("GlobalSecondaryIndexes", [])}
        want = {i["IndexName"]: i["KeySchema"] for i in shape.get("GlobalSecondaryIndexes", [])}
        assert got == want, lid


def test_every_log_group_has_retention_and_encryption(resources: dict[str, Any]) -> None:
    for name, lg in of_type(resources, "AWS::Logs::LogGroup").items():
        assert lg["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, name
        assert "KmsKeyId" in lg["Properties"], name


def test_ecr_scans_on_push_and_tags_are_immutable(resources: dict[str, Any]) -> None:
    props = resources["BatchImageRepository"]["Properties"]
    assert props["ImageScanningConfiguration"]["ScanOnPush"] is True
    assert props["ImageTagMutability"] == "IMMUTABLE"


# ------------------------------------------------------------------ batch
def test_compute_environment_is_gpu_spot_or_on_demand(resources: dict[str, Any]) -> None:
    cr = resources["GpuComputeEnvironment"]["Properties"]["ComputeResources"]
    assert cr["Type"] == {"Ref": "ComputeType"}
    assert cr["AllocationStrategy"]["Fn::If"][1:] == ["SPOT_PRICE_CAPACITY_OPTIMIZED", "BEST_FIT_PROGRESSIVE"]
    assert cr["MinvCpus"] == 0 and cr["MaxvCpus"] == {"Ref": "MaxvCpus"}
    assert cr["Ec2Configuration"][0]["ImageType"].endswith("NVIDIA")


def test_job_queue_cancels_jobs_stuck_runnable(resources: dict[str, Any]) -> None:
    actions_ = resources["JobQueue"]["Properties"]["JobStateTimeLimitActions"]
    assert {a["State"] for a in actions_} == {"RUNNABLE"}
    assert {a["Action"] for a in actions_} == {"CANCEL"}
    assert any(a["Reason"] == "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY" for a in actions_)


def test_one_job_definition_per_task(stack: dict[str, Any], resources: dict[str, Any]) -> None:
    tasks = load_tasks().tasks
    defs = of_type(resources, "AWS::Batch::JobDefinition")
    defs.pop("TrainJobDefinition")
    assert len(defs) == len(tasks)
    for task in tasks:
        props = defs[build_template.logical_id(task.name)]["Properties"]
        assert props["JobDefinitionName"] == {"Fn::Sub": f"${{AppName}}-${{Stage}}-{task.name}"}
        # = NEWSOPS_JOB_DEFINITION_PREFIX + "-" + task, what ingest puts in the execution input
        assert stack["Outputs"]["JobDefinitionPrefix"]["Value"] == {"Fn::Sub": "${AppName}-${Stage}"}
        assert props["Timeout"]["AttemptDurationSeconds"] >= 60
        assert props["Timeout"]["AttemptDurationSeconds"] == max(60, task.timeout_s)
        retry = props["RetryStrategy"]
        assert retry["Attempts"] == task.attempts and 1 <= retry["Attempts"] <= 10
        rules = retry["EvaluateOnExit"]
        assert len(rules) <= 5, "Batch takes at most 5 evaluateOnExit conditions"
        assert {"OnExitCode": "75", "Action": "RETRY"} in rules
        assert {"OnExitCode": "65", "Action": "EXIT"} in rules
        assert {"OnStatusReason": "Host EC2*", "Action": "RETRY"} in rules, "Spot reclaim must retry"
        req = {r["Type"]: r["Value"] for r in props["ContainerProperties"]["ResourceRequirements"]}
        assert req["VCPU"] == str(task.vcpus) and req["MEMORY"] == str(task.memory_mib)
        assert req.get("GPU") == (str(task.gpu) if task.gpu else None)
        env = {e["Name"]: e["Value"] for e in props["ContainerProperties"]["Environment"] if "Name" in e}
        assert env["NEWSOPS_BACKEND"] == "aws" and env["NEWSOPS_BUCKET"] == {"Ref": "DataBucket"}


def test_tasks_are_generated_not_hand_written(tmp_path) -> None:
    tasks = json.loads((DEFINITION.parents[1] / "chalicelib" / "config" / "tasks.json").read_text())
    tasks["tasks"].append({**tasks["tasks"][0], "name": "company-ner", "gpu": 0, "timeout_s": 10})
    f = tmp_path / "tasks.json"
    f.write_text(json.dumps(tasks))
    built = build_template.build(tasks_file=f)
    jd = built["Resources"]["JobDefinitionCompanyNer"]["Properties"]
    assert jd["Timeout"]["AttemptDurationSeconds"] == 60, "below the Batch minimum: raised to 60"
    assert all(r["Type"] != "GPU" for r in jd["ContainerProperties"]["ResourceRequirements"])


def test_train_job_definition(stack: dict[str, Any], resources: dict[str, Any]) -> None:
    props = resources["TrainJobDefinition"]["Properties"]
    # = NEWSOPS_JOB_DEFINITION_PREFIX + "-train", what chalicelib.training puts in the execution
    # input (tests/test_statemachine_train.py checks that side)
    assert props["JobDefinitionName"] == {"Fn::Sub": "${AppName}-${Stage}-train"}
    assert stack["Outputs"]["TrainJobDefinitionArn"]["Value"] == {"Ref": "TrainJobDefinition"}
    container = props["ContainerProperties"]
    assert container["JobRoleArn"] == {"Fn::GetAtt": ["TrainJobRole", "Arn"]}
    assert "Command" not in container, "the image's ENTRYPOINT runs; each step's CMD comes at submission"
    req = container["ResourceRequirements"]
    assert {"Type": "VCPU", "Value": {"Ref": "TrainVcpus"}} in req
    assert {"Type": "MEMORY", "Value": {"Ref": "TrainMemoryMiB"}} in req
    assert {"Fn::If": ["TrainOnGpu", {"Type": "GPU", "Value": {"Ref": "TrainGpus"}},
                       {"Ref": "AWS::NoValue"}]} in req, "the GPU is optional, by stack parameter"
    assert stack["Conditions"]["TrainOnGpu"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "TrainGpus"}, 0]}]}
    assert stack["Parameters"]["TrainGpus"]["Default"] == 0
    assert props["Timeout"]["AttemptDurationSeconds"] == Settings.model_fields["train_timeout_s"].default
    env = {e["Name"]: e["Value"] for e in container["Environment"] if "Name" in e}
    assert env["NEWSOPS_BACKEND"] == "aws" and env["NEWSOPS_BUCKET"] == {"Ref": "DataBucket"}
    assert "NEWSOPS_TASK" not in env


def test_a_task_named_train_is_refused(tmp_path) -> None:
    tasks = json.loads((DEFINITION.parents[1] / "chalicelib" / "config" / "tasks.json").read_text())
    tasks["tasks"].append({**tasks["tasks"][0], "name": "train"})
    f = tmp_path / "tasks.json"
    f.write_text(json.dumps(tasks))
    with pytest.raises(ValueError, match="may not be named 'train'"):
        build_template.build(tasks_file=f)


# ------------------------------------------------------------------ least privilege
def test_state_machine_role(resources: dict[str, Any]) -> None:
    stmts = statements(resources["StateMachineRole"])
    by_action = {}
    for s in stmts:
        for a in [s["Action"]] if isinstance(s["Action"], str) else s["Action"]:
            by_action[a] = s
    submit = by_action["batch:SubmitJob"]["Resource"]
    assert {"Ref": "JobQueue"} in submit
    assert any("job-definition/${AppName}-${Stage}-*" in r["Fn::Sub"] for r in submit if "Fn::Sub" in r)
    terminate = by_action["batch:TerminateJob"]
    assert terminate["Resource"]["Fn::Sub"].endswith(":job/*")
    assert terminate["Condition"] == {"Null": {"aws:ResourceTag/newsops-run-id": "false"},
                                      "StringLike": {"aws:ResourceTag/newsops-job-definition":
                                                     {"Fn::Sub": "${AppName}-${Stage}-*"}}}, \
        "the state machine may stop only this stage's jobs tagged with a run id"
    rule = by_action["events:PutRule"]["Resource"]["Fn::Sub"]
    assert rule.endswith(":rule/StepFunctionsGetEventsForBatchJobsRule")
    assert {"events:PutTargets", "events:DescribeRule"} <= actions(stmts)
    invoke = by_action["lambda:InvokeFunction"]["Resource"]
    names = {re.sub(r".*:function:", "", r["Fn::Sub"]) for r in invoke}
    assert names == {f"${{AppName}}-${{Stage}}-{f}{q}" for f in ("index", "verify", "cleanup") for q in ("", ":*")}
    assert by_action["sns:Publish"]["Resource"] == {"Ref": "AlertsTopic"}


def test_train_state_machine_role(resources: dict[str, Any]) -> None:
    stmts = statements(resources["TrainStateMachineRole"])
    by_action = {}
    for s in stmts:
        for a in [s["Action"]] if isinstance(s["Action"], str) else s["Action"]:
            by_action[a] = s
    submit = by_action["batch:SubmitJob"]["Resource"]
    assert {"Ref": "JobQueue"} in submit
    definitions = {r["Fn::Sub"].split(":job-definition/", 1)[1] for r in submit if "Fn::Sub" in r}
    assert definitions == {"${AppName}-${Stage}-train", "${AppName}-${Stage}-train:*"}, \
        "only the training job definition, not the tasks'"
    terminate = by_action["batch:TerminateJob"]
    assert terminate["Resource"]["Fn::Sub"].endswith(":job/*")
    assert terminate["Condition"] == {"Null": {"aws:ResourceTag/newsops-train-id": "false"},
                                      "StringLike": {"aws:ResourceTag/newsops-job-definition":
                                                     {"Fn::Sub": "${AppName}-${Stage}-train*"}}}, \
        "the train state machine may stop only this stage's training jobs"
    assert by_action["batch:TagResource"]["Condition"] == {
        "StringEquals": {"batch:CreateAction": "SubmitJob"},
        "StringLike": {"aws:RequestTag/newsops-job-definition": {"Fn::Sub": "${AppName}-${Stage}-*"}}}
    assert by_action["events:PutRule"]["Resource"]["Fn::Sub"].endswith(":rule/StepFunctionsGetEventsForBatchJobsRule")
    assert {"events:PutTargets", "events:DescribeRule"} <= actions(stmts)
    assert by_action["sns:Publish"]["Resource"] == {"Ref": "AlertsTopic"}
    assert not any(a.startswith(("lambda:", "s3:", "dynamodb:", "states:")) for a in actions(stmts))
    for s in stmts:
        if s["Resource"] == "*":
            assert actions([s]) <= {"batch:DescribeJobs"} | {a for a in actions([s])
                                                             if a.startswith(("logs:", "xray:"))}, s["Sid"]


def test_train_job_role_writes_only_training_outputs_and_the_registry(resources: dict[str, Any]) -> None:
    stmts = statements(resources["TrainJobRole"])
    assert actions(stmts) == {"s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket", "s3:PutObject",
                              "kms:Decrypt", "kms:GenerateDataKey"}
    put = sorted(r["Fn::Sub"] for s in stmts if "s3:PutObject" in actions([s])
                 for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]))
    assert put == ["${DataBucket.Arn}/models/*", "${DataBucket.Arn}/training/*/evaluation.json",
                   "${DataBucket.Arn}/training/*/model/*"]
    get = [r["Fn::Sub"] for s in stmts if "s3:GetObject" in actions([s]) for r in s["Resource"]]
    assert get == ["${DataBucket.Arn}/training/*", "${DataBucket.Arn}/models/*"]
    principal = resources["TrainJobRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
    assert principal == {"Service": "ecs-tasks.amazonaws.com"}


# Actions without resource-level permissions: "*" is the only possible Resource.
STAR_OK = {"batch:ListJobs", "batch:DescribeJobs"}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_function_role_is_least_privilege(resources: dict[str, Any], name: str) -> None:
    stmts = statements(resources[FUNCTIONS[name].role])
    # Which actions: tests/infra/test_permissions.py, against chalicelib/permissions.py.
    for s in stmts:
        acts = {s["Action"]} if isinstance(s["Action"], str) else set(s["Action"])
        assert s["Effect"] == "Allow"
        assert not any(a.endswith("*") for a in acts), f"{name}: wildcard action in {s['Sid']}"
        if s["Resource"] == "*":
            assert acts <= STAR_OK, f"{name}: {sorted(acts - STAR_OK)} on Resource '*' ({s['Sid']})"
        if "batch:TerminateJob" in acts:
            assert s["Condition"] == {"Null": {"aws:ResourceTag/newsops-run-id": "false"},
                                      "StringLike": {"aws:ResourceTag/newsops-job-definition":
                                                     {"Fn::Sub": "${AppName}-${Stage}-*"}}}
        text = json.dumps(s["Resource"])
        if "s3:PutObject" in acts:
            assert "DataBucket.Arn}/" in text and "/*\"" in text, f"{name}: PutObject not limited to prefixes"
    logs = [s for s in stmts if "logs:PutLogEvents" in actions([s])]
    assert logs and all(s["Resource"] == {"Fn::GetAtt": [FUNCTIONS[name].log_group, "Arn"]} for s in logs)


def test_ingest_reads_only_the_pipelines_executions(resources: dict[str, Any]) -> None:
    [describe] = [s for s in statements(resources[FUNCTIONS["ingest"].role])
                  if "states:DescribeExecution" in actions([s])]
    assert describe["Resource"]["Fn::Sub"].endswith(":execution:${AppName}-${Stage}-pipeline:*")


def test_api_role_is_read_only(resources: dict[str, Any]) -> None:
    granted = actions(statements(resources["ApiFunctionRole"]))
    writes = {a for a in granted if re.search(r":(Put|Update|Delete|Create|Start|Terminate|Publish|Send)", a)
              and not a.startswith("logs:")}
    assert not writes, f"the API only reads: {sorted(writes)}"


def test_batch_job_role_writes_only_results_and_quarantine(resources: dict[str, Any]) -> None:
    stmts = statements(resources["BatchJobRole"])
    put = [s for s in stmts if "s3:PutObject" in actions([s])]
    assert [r["Fn::Sub"] for s in put for r in s["Resource"]] == [
        "${DataBucket.Arn}/runs/*/results/*", "${DataBucket.Arn}/runs/*/quarantine/*",
        "${DataBucket.Arn}/runs/*/errors/*"]


def test_search_is_an_optional_domain_or_an_existing_endpoint(stack: dict[str, Any]) -> None:
    params = stack["Parameters"]
    assert params["CreateSearchDomain"]["Default"] == "false"
    assert "SearchEndpoint" in params
    assert stack["Resources"]["SearchDomain"]["Condition"] == "CreateDomain"
    assert "SearchIsConfigured" in stack["Rules"]
    assert stack["Resources"]["ModelCacheFileSystem"]["Condition"] == "UseModelCache"


def test_terminate_job_reaches_only_this_stages_jobs(stack: dict[str, Any], resources: dict[str, Any]) -> None:
    """A role of one stage (dev) may not stop another stage's (prod) jobs in the same account:
    every TerminateJob requires the job's definition tag to name this stage, and the state
    machines may only tag a job with a definition of their stage."""
    roles = {name: r for name, r in resources.items() if r["Type"] == "AWS::IAM::Role"}
    terminating = {name: s for name, role in roles.items() for s in statements(role)
                   if "batch:TerminateJob" in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert set(terminating) >= {"StateMachineRole", "TrainStateMachineRole"}
    for name, stmt in terminating.items():
        scope = stmt["Condition"]["StringLike"]["aws:ResourceTag/newsops-job-definition"]
        assert scope["Fn::Sub"].startswith("${AppName}-${Stage}-"), name
    for name in ("StateMachineRole", "TrainStateMachineRole"):
        [tagging] = [s for s in statements(roles[name]) if s["Action"] == "batch:TagResource"]
        assert tagging["Condition"]["StringLike"]["aws:RequestTag/newsops-job-definition"] == {
            "Fn::Sub": "${AppName}-${Stage}-*"}
    # ...and the state machines do tag every job they submit with its definition.
    import json
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "statemachine"
    def submits(states: dict[str, Any]) -> list[dict[str, Any]]:
        out = []
        for state in states.values():
            if state.get("Resource", "").startswith("arn:aws:states:::batch:submitJob"):
                out.append(state["Parameters"])
            out += submits(state.get("ItemProcessor", {}).get("States", {}))
        return out

    for path, expr in (("pipeline.asl.json", "$.task.job_definition"), ("train.asl.json", "$.job_definition")):
        found = submits(json.loads((root / path).read_text())["States"])
        assert found and all(p["Tags"]["newsops-job-definition.$"] == expr for p in found), path
