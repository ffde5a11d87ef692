"""`make deploy` and `make package` offline: moto stands in for CloudFormation, S3 and EC2."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from scripts.deploy import cfn, deploy, package, publish_models, stage_config
from scripts.deploy.changes import changed_models, image_changed
from scripts.deploy.layout import CHALICE_CONFIG, ENV_FROM_OUTPUTS, FUNCTIONS, REPO

TINY = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Parameters": {"Stage": {"Type": "String"}, "AppName": {"Type": "String", "Default": "newsops"},
                   "VpcId": {"Type": "String"}, "SubnetIds": {"Type": "String"},
                   "Retention": {"Type": "String", "Default": "7"}},
    "Resources": {"Topic": {"Type": "AWS::SNS::Topic",
                            "Properties": {"TopicName": {"Fn::Sub": "${AppName}-${Stage}-${Retention}"}}}},
    "Outputs": {"TopicArn": {"Value": {"Ref": "Topic"}},
                "Vpc": {"Value": {"Ref": "VpcId"}}},
}


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch):
    moto = pytest.importorskip("moto")
    try:
        import openapi_spec_validator  # noqa: F401 - moto's CloudFormation imports its API Gateway
    except ImportError:  # which imports this at module level; these tests never import an API spec
        import sys
        import types

        stub = types.ModuleType("openapi_spec_validator")
        stub.validate = lambda *a, **k: None  # type: ignore[attr-defined]
        validation = types.ModuleType("openapi_spec_validator.validation")
        exceptions = types.ModuleType("openapi_spec_validator.validation.exceptions")
        exceptions.OpenAPIValidationError = type("OpenAPIValidationError", (Exception,), {})  # type: ignore[attr-defined]
        for name, module in (("openapi_spec_validator", stub),
                             ("openapi_spec_validator.validation", validation),
                             ("openapi_spec_validator.validation.exceptions", exceptions)):
            monkeypatch.setitem(sys.modules, name, module)
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                 "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                 "AWS_REGION": "us-east-1"}.items():
        monkeypatch.setenv(k, v)
    with moto.mock_aws():
        yield deploy.session("us-east-1")


def all_outputs() -> dict[str, str]:
    outs = {o: f"value-of-{o}" for o in ENV_FROM_OUTPUTS.values()}
    outs.update({f.role_output: f"arn:aws:iam::123456789012:role/{f.name}" for f in FUNCTIONS.values()})
    return outs


# ------------------------------------------------------------------ stage config
def test_stage_config_names_every_resource_and_role(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    original = json.loads(CHALICE_CONFIG.read_text())
    original["stages"]["qa"] = {"api_gateway_stage": "v1", "lambda_functions": {"index": {"lambda_timeout": 7}}}
    config.write_text(json.dumps(original))
    stage = stage_config.write_stage_config("qa", all_outputs(), config_path=config, code_version="abc123")
    env = stage["environment_variables"]
    for var, out in ENV_FROM_OUTPUTS.items():
        assert env[var] == f"value-of-{out}"
    assert env["NEWSOPS_CODE_VERSION"] == "abc123" and env["NEWSOPS_BACKEND"] == "aws"
    for name, fn in FUNCTIONS.items():
        assert stage["lambda_functions"][name]["iam_role_arn"].endswith(f"role/{fn.name}")
    assert stage["api_gateway_stage"] == "v1", "keys the writer does not manage are kept"
    assert stage["lambda_functions"]["index"]["lambda_timeout"] == 7
    assert json.loads(config.read_text())["stages"]["qa"] == stage


def test_stage_config_refuses_outputs_of_another_template(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(CHALICE_CONFIG.read_text())
    outputs = all_outputs()
    del outputs["StateMachineArn"]
    with pytest.raises(stage_config.MissingOutputs, match="StateMachineArn"):
        stage_config.write_stage_config("qa", outputs, config_path=config)


# ------------------------------------------------------------------ stacks (moto)
def test_deploy_stack_creates_updates_and_tolerates_no_changes(aws: Any) -> None:
    cfn = aws.client("cloudformation")
    params = {"Stage": "qa", "VpcId": "vpc-1", "SubnetIds": "a,b"}

    def state() -> tuple[str, dict[str, str]]:
        # (moto's change sets leave Outputs empty: look at the resource and the parameters)
        topic = cfn.describe_stack_resource(StackName="newsops-qa", LogicalResourceId="Topic")
        stack = cfn.describe_stacks(StackName="newsops-qa")["Stacks"][0]
        return (topic["StackResourceDetail"]["PhysicalResourceId"],
                {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]})

    deploy.deploy_stack(cfn, "newsops-qa", TINY, params, poll_s=0)
    topic, values = state()
    assert topic.endswith(":newsops-qa-7") and values["VpcId"] == "vpc-1"
    # Only Retention given: the others keep their previous values (UsePreviousValue).
    deploy.deploy_stack(cfn, "newsops-qa", TINY, {"Retention": "30"}, poll_s=0)
    _, values = state()
    assert values["Retention"] == "30" and values["VpcId"] == "vpc-1" and values["Stage"] == "qa"
    with pytest.raises(deploy.DeployError, match="unknown stack parameters"):
        deploy.deploy_stack(cfn, "newsops-qa", TINY, {"Nope": "1"}, poll_s=0)


def test_default_network_is_the_default_vpc(aws: Any) -> None:
    vpc, subnets = deploy.default_network(aws.client("ec2"))
    assert vpc.startswith("vpc-") and len(subnets) >= 2


def test_deploy_stacks_bootstraps_uploads_and_writes_outputs(aws: Any, tmp_path: Path) -> None:
    template = tmp_path / "stack.json"
    template.write_text(json.dumps(TINY))
    bootstrap = tmp_path / "bootstrap.json"  # built here: the test must not depend on test order
    cfn.dump(cfn.load(REPO / "infra" / "bootstrap.yaml"), bootstrap)
    outputs = deploy.deploy_stacks(aws, "newsops", "qa", {"Retention": "14"}, template_path=template,
                                   bootstrap_path=bootstrap,
                                   out_dir=tmp_path, poll_s=0)
    bucket = outputs["ArtifactsBucketName"]
    assert bucket == "newsops-qa-artifacts-123456789012-us-east-1"
    keys = [o["Key"] for o in aws.client("s3").list_objects_v2(Bucket=bucket)["Contents"]]
    assert len(keys) == 1 and keys[0].startswith("templates/newsops-qa-")
    stack = aws.client("cloudformation").describe_stacks(StackName="newsops-qa")["Stacks"][0]
    values = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert values["VpcId"].startswith("vpc-"), "a new stack goes into the default VPC"
    assert len(values["SubnetIds"].split(",")) >= 2 and values["Retention"] == "14"
    assert json.loads((tmp_path / "qa" / "outputs.json").read_text()) == outputs


def test_chalice_state_round_trips_through_s3(aws: Any, tmp_path: Path) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="artifacts")
    assert deploy.pull_state(s3, "artifacts", "qa", tmp_path) is False, "first deploy: no state yet"
    state = {"resources": [{"name": "rest_api", "resource_type": "rest_api", "rest_api_id": "abc",
                            "rest_api_url": "https://abc.execute-api.us-east-1.amazonaws.com/api/"}],
             "schema_version": "2.0"}
    (tmp_path / "qa.json").write_text(json.dumps(state))
    assert deploy.push_state(s3, "artifacts", "qa", tmp_path) is True
    (tmp_path / "qa.json").unlink()
    assert deploy.pull_state(s3, "artifacts", "qa", tmp_path) is True
    assert json.loads((tmp_path / "qa.json").read_text()) == state
    assert deploy.api_url("qa", tmp_path) == "https://abc.execute-api.us-east-1.amazonaws.com/api"


# ------------------------------------------------------------------ smoke check
def test_smoke_check_signs_with_sigv4() -> None:
    from botocore.credentials import Credentials

    seen: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            seen.update(self.headers.items())
            ok = self.headers.get("Authorization", "").startswith("AWS4-HMAC-SHA256")
            self.send_response(200 if ok else 403)
            self.end_headers()
            self.wfile.write(b'{"ok": true}' if ok else b"{}")

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/api/health"
        body = deploy.smoke(url, Credentials("AKID", "SECRET", "TOKEN"), "eu-west-1", attempts=1)
    finally:
        server.shutdown()
    assert body == b'{"ok": true}'
    assert "/eu-west-1/execute-api/aws4_request" in seen["Authorization"]
    assert seen["X-Amz-Security-Token"] == "TOKEN"


def test_smoke_check_fails_loudly() -> None:
    from botocore.credentials import Credentials

    with pytest.raises(deploy.DeployError, match="did not answer 200"):
        deploy.smoke("http://127.0.0.1:9/health", Credentials("a", "b"), "us-east-1", attempts=2, wait_s=0)


# ------------------------------------------------------------------ make
def test_make_deploy_runs_the_steps_in_order() -> None:
    proc = subprocess.run(
        ["make", "-n", "-o", ".venv/.installed", "-o", ".venv-tools/.installed", "deploy", "STAGE=qa",
         "PARAMS=CreateSearchDomain=true AlertEmail=ops@example.com", "IMAGE_URI=repo@sha256:1"],
        cwd=REPO, capture_output=True, text=True, env={**os.environ, "MAKEFLAGS": ""})
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if "scripts.deploy" in line or "chalice" in line]
    steps = ["build_template", "deploy stacks", "stage_config", "pull-state", "chalice deploy --stage qa",
             "post"]
    positions = [next(i for i, line in enumerate(lines) if step in line) for step in steps]
    assert positions == sorted(positions), lines
    stacks = next(line for line in lines if "deploy stacks" in line)
    assert "--param CreateSearchDomain=true --param AlertEmail=ops@example.com --param ImageUri=repo@sha256:1" in stacks
    chalice = next(line for line in lines if "chalice deploy" in line)
    assert "push-state" in chalice and "exit $rc" in chalice, "state is saved even when chalice fails"


# ------------------------------------------------------------------ make package
def test_package_writes_one_template_binding_every_function(packaged: dict[str, Path]) -> None:
    path = packaged["app"]
    assert sorted(p.name for p in path.parent.iterdir()) == ["deployment.zip", "sam.json"]
    template = json.loads(path.read_text())
    assert template["Transform"] == "AWS::Serverless-2016-10-31"
    assert "PipelineStateMachine" in template["Resources"] and "JobQueue" in template["Resources"]
    functions = {k: v for k, v in template["Resources"].items() if v["Type"] == "AWS::Serverless::Function"}
    assert set(functions) >= {"Ingest", "Index", "Verify", "Cleanup"}
    for lid, fn in functions.items():
        props = fn["Properties"]
        assert props["Role"]["Fn::GetAtt"][0].endswith("FunctionRole"), lid
        assert set(props["Environment"]["Variables"]) >= set(ENV_FROM_OUTPUTS), lid
        assert "Fn::Sub" in props["FunctionName"], lid
    ingest = functions["Ingest"]["Properties"]
    assert ingest["DeadLetterQueue"]["TargetArn"] == {"Fn::GetAtt": ["AsyncFailureQueue", "Arn"]}
    pattern = ingest["Events"]["IngestEvent"]["Properties"]["Pattern"]
    assert pattern["detail"]["bucket"]["name"] == [{"Ref": "DataBucket"}]
    assert pattern["detail"]["object"]["key"] == [{"prefix": "incoming/"}]


def test_package_of_the_full_app_has_an_iam_only_api(packaged: dict[str, Path]) -> None:
    template = json.loads(packaged["full-app"].read_text())
    resources = template["Resources"]
    assert {"Crawl", "Verifier", "Reaper", "APIHandler", "RestAPI"} <= set(resources)
    api = resources["RestAPI"]["Properties"]
    for path, methods in api["DefinitionBody"]["paths"].items():
        for method, spec in methods.items():
            assert spec.get("security") == [{"sigv4": []}], f"{method.upper()} {path} is not IAM-authorized"
    assert api["TracingEnabled"] is True and "AccessLogSetting" in api
    assert resources["APIHandler"]["Properties"]["FunctionName"] == {"Fn::Sub": "${AppName}-${Stage}"}
    assert resources["Crawl"]["Properties"]["DeadLetterQueue"]["Type"] == "SQS"


def test_package_refuses_a_function_without_a_role() -> None:
    with pytest.raises(SystemExit, match="no role in the stack"):
        package.function_overlay("mystery", {"Outputs": {}})


# ------------------------------------------------------------------ CI helpers
def test_image_rebuild_follows_the_image_inputs() -> None:
    assert image_changed(["batch_container/Dockerfile"])
    assert image_changed(["chalicelib/contract/schema.py"]), "the image carries chalicelib's contracts"
    assert not image_changed(["docs/deploy.md", "app.py", "infra/newsops.yaml"])


def test_first_push_publishes_every_model() -> None:
    tasks = json.loads((REPO / "chalicelib" / "config" / "tasks.json").read_text())["tasks"]
    assert changed_models(None, "HEAD") == sorted(t["name"] for t in tasks) or \
        subprocess.run(["git", "diff", "--quiet", "HEAD", "--", "chalicelib/config/tasks.json"],
                       cwd=REPO).returncode != 0


def test_publish_models_uses_the_registry_command() -> None:
    cmds = publish_models.commands(["embedding"], "prod")
    assert cmds[0][:2] == ["model", "push"] and cmds[1][:2] == ["model", "promote"]
    assert cmds[1][-2:] == ["--stage", "prod"]
