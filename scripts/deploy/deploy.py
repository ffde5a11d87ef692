"""The AWS side of `make deploy` (boto3 from the project venv; no AWS CLI needed).

    stacks       deploy <app>-<stage>-bootstrap (artifacts bucket), upload the built stack
                 template there, deploy <app>-<stage>; writes build/deploy/<stage>/outputs.json
    pull-state   .chalice/deployed/<stage>.json  <-  s3://<artifacts>/chalice/deployed/<stage>.json
    push-state   .chalice/deployed/<stage>.json  ->  the same key (always, even after a failed deploy)
    post         what Chalice cannot configure: dead-letter queue of the asynchronously invoked
                 functions, access logs + X-Ray tracing of the API stage
    smoke        GET /health, signed with SigV4 (the API requires IAM auth); retries for a minute
    outputs      print the stage's stack outputs

Every stack update goes through a change set; an update with no changes is not an error.
Parameters not given keep their previous value on update (UsePreviousValue).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from scripts.deploy.layout import BUILT_BOOTSTRAP, BUILT_TEMPLATE, FUNCTIONS, REPO

DEPLOY_DIR = REPO / "build" / "deploy"
DEPLOYED_DIR = REPO / ".chalice" / "deployed"
NO_CHANGES = ("didn't contain changes", "No updates are to be performed", "The submitted information didn't")
FAILED_STATES = ("FAILED", "ROLLBACK")


class DeployError(RuntimeError):
    pass


def session(region: str | None = None) -> Any:
    import boto3

    s = boto3.session.Session(region_name=region)
    if not s.region_name:
        raise DeployError("no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION, or REGION=... for make)")
    return s


# ---------------------------------------------------------------- stacks
def stack_status(cfn: Any, name: str) -> dict[str, Any] | None:
    from botocore.exceptions import ClientError

    try:
        return cfn.describe_stacks(StackName=name)["Stacks"][0]
    except ClientError as exc:
        if "does not exist" in str(exc):
            return None
        raise


def outputs_of(stack: dict[str, Any]) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def _parameters(template: dict[str, Any], given: dict[str, str], previous: dict[str, Any] | None) -> list[dict]:
    declared = template.get("Parameters", {})
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise DeployError(f"unknown stack parameters {unknown}; the template declares {sorted(declared)}")
    had = {p["ParameterKey"] for p in (previous or {}).get("Parameters", [])}
    params = []
    for key in declared:
        if key in given:
            params.append({"ParameterKey": key, "ParameterValue": given[key]})
        elif key in had:
            params.append({"ParameterKey": key, "UsePreviousValue": True})
    return params


def _failure_events(cfn: Any, name: str, limit: int = 15) -> str:
    try:
        events = cfn.describe_stack_events(StackName=name)["StackEvents"]
    except Exception:  # noqa: BLE001 - only for the error message
        return ""
    bad = [e for e in events if "FAILED" in e.get("ResourceStatus", "")][:limit]
    return "\n".join(f"  {e['LogicalResourceId']}: {e['ResourceStatus']}: {e.get('ResourceStatusReason', '')}"
                     for e in bad)


def deploy_stack(cfn: Any, name: str, template: dict[str, Any], parameters: dict[str, str], *,
                 template_url: str | None = None, capabilities: tuple[str, ...] = ("CAPABILITY_IAM",),
                 tags: dict[str, str] | None = None, poll_s: float = 5.0) -> dict[str, str]:
    """Create or update `name` through a change set; returns the stack outputs."""
    previous = stack_status(cfn, name)
    if previous and previous["StackStatus"] == "ROLLBACK_COMPLETE":
        # A stack whose creation failed can only be deleted (it holds no resources).
        print(f"{name}: deleting the stack left by a failed creation (ROLLBACK_COMPLETE)")
        cfn.delete_stack(StackName=name)
        cfn.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig={"Delay": poll_s})
        previous = None
    if previous and previous["StackStatus"].endswith("_IN_PROGRESS"):
        raise DeployError(f"{name} is {previous['StackStatus']}: wait for it to finish, then deploy again")
    change_type = "UPDATE" if previous else "CREATE"
    change_set = f"deploy-{int(time.time())}"
    request: dict[str, Any] = {
        "StackName": name, "ChangeSetName": change_set, "ChangeSetType": change_type,
        "Parameters": _parameters(template, parameters, previous),
        "Capabilities": list(capabilities),
        "Tags": [{"Key": k, "Value": v} for k, v in (tags or {}).items()],
    }
    if template_url:
        request["TemplateURL"] = template_url
    else:
        request["TemplateBody"] = json.dumps(template)
    cfn.create_change_set(**request)
    while True:
        cs = cfn.describe_change_set(StackName=name, ChangeSetName=change_set)
        if cs["Status"] in ("CREATE_COMPLETE", "FAILED"):
            break
        time.sleep(poll_s)
    if cs["Status"] == "FAILED":
        reason = cs.get("StatusReason", "")
        cfn.delete_change_set(StackName=name, ChangeSetName=change_set)
        if any(text in reason for text in NO_CHANGES):
            print(f"{name}: no changes")
            return outputs_of(stack_status(cfn, name) or {})
        raise DeployError(f"{name}: change set failed: {reason}")
    print(f"{name}: {change_type.lower()} with {len(cs.get('Changes', []))} resource changes")
    cfn.execute_change_set(StackName=name, ChangeSetName=change_set)
    while True:
        stack = stack_status(cfn, name) or {}
        status = stack.get("StackStatus", "")
        if not status.endswith("_IN_PROGRESS"):
            break
        time.sleep(poll_s)
    if status not in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
        raise DeployError(f"{name}: {status}\n{_failure_events(cfn, name)}")
    return outputs_of(stack)


def default_network(ec2: Any) -> tuple[str, list[str]]:
    """The default VPC and its default subnets (one per availability zone)."""
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]
    if not vpcs:
        raise DeployError("this region has no default VPC: pass PARAMS='VpcId=vpc-... SubnetIds=subnet-a,subnet-b'")
    vpc = vpcs[0]["VpcId"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]},
                                            {"Name": "default-for-az", "Values": ["true"]}])["Subnets"]
    ids = [s["SubnetId"] for s in sorted(subnets, key=lambda s: s["AvailabilityZone"])]
    if len(ids) < 2:
        raise DeployError(f"default VPC {vpc} has {len(ids)} default subnets; pass SubnetIds= (two AZs)")
    return vpc, ids


def parse_params(items: list[str]) -> dict[str, str]:
    params = {}
    for item in items:
        for word in item.split():
            key, sep, value = word.partition("=")
            if not sep or not key:
                raise DeployError(f"parameter {word!r} is not Key=Value")
            params[key] = value
    return params


def deploy_stacks(s: Any, app: str, stage: str, params: dict[str, str], *,
                  template_path: Path = BUILT_TEMPLATE, bootstrap_path: Path = BUILT_BOOTSTRAP,
                  out_dir: Path = DEPLOY_DIR, poll_s: float = 5.0) -> dict[str, str]:
    cfn, s3 = s.client("cloudformation"), s.client("s3")
    tags = {"newsops-stage": stage, "newsops-app": app}
    bootstrap = json.loads(bootstrap_path.read_text())
    boot = deploy_stack(cfn, f"{app}-{stage}-bootstrap", bootstrap, {"Stage": stage, "AppName": app},
                        tags=tags, poll_s=poll_s)
    bucket = boot.get("ArtifactsBucketName") or cfn.describe_stack_resource(
        StackName=f"{app}-{stage}-bootstrap", LogicalResourceId="ArtifactsBucket",
    )["StackResourceDetail"]["PhysicalResourceId"]
    body = template_path.read_bytes()
    key = f"templates/{app}-{stage}-{hashlib.sha256(body).hexdigest()[:16]}.json"
    s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
    url = f"https://{bucket}.s3.{s.region_name}.amazonaws.com/{key}"
    params = {"Stage": stage, "AppName": app, **params}
    name = f"{app}-{stage}"
    if stack_status(cfn, name) is None and not {"VpcId", "SubnetIds"} <= params.keys():
        vpc, subnets = default_network(s.client("ec2"))
        params.setdefault("VpcId", vpc)
        params.setdefault("SubnetIds", ",".join(subnets[:3]))
        print(f"{name}: new stack in the default VPC {vpc} ({params['SubnetIds']})")
    outputs = deploy_stack(cfn, name, json.loads(body), params, template_url=url, tags=tags, poll_s=poll_s)
    outputs["ArtifactsBucketName"] = bucket
    out = out_dir / stage / "outputs.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(outputs, indent=2, sort_keys=True) + "\n")
    print(f"{name}: outputs in {out}")
    return outputs


# ---------------------------------------------------------------- Chalice deployed state
def state_key(stage: str) -> str:
    return f"chalice/deployed/{stage}.json"


def pull_state(s3: Any, bucket: str, stage: str, deployed_dir: Path = DEPLOYED_DIR) -> bool:
    from botocore.exceptions import ClientError

    deployed_dir.mkdir(parents=True, exist_ok=True)
    try:
        body = s3.get_object(Bucket=bucket, Key=state_key(stage))["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            print(f"no Chalice state for {stage} in s3://{bucket} yet: first deploy")
            return False
        raise
    (deployed_dir / f"{stage}.json").write_bytes(body)
    return True


def push_state(s3: Any, bucket: str, stage: str, deployed_dir: Path = DEPLOYED_DIR) -> bool:
    path = deployed_dir / f"{stage}.json"
    if not path.exists():
        print(f"no {path}: nothing to save")
        return False
    s3.put_object(Bucket=bucket, Key=state_key(stage), Body=path.read_bytes(), ContentType="application/json")
    return True


def deployed_resources(stage: str, deployed_dir: Path = DEPLOYED_DIR) -> dict[str, dict[str, Any]]:
    path = deployed_dir / f"{stage}.json"
    if not path.exists():
        raise DeployError(f"{path} is missing: run `make deploy STAGE={stage}` first")
    return {r["name"]: r for r in json.loads(path.read_text()).get("resources", [])}


# ---------------------------------------------------------------- after chalice deploy
ACCESS_LOG_FORMAT = ('{"requestId":"$context.requestId","ip":"$context.identity.sourceIp",'
                     '"user":"$context.identity.userArn","time":"$context.requestTime",'
                     '"method":"$context.httpMethod","path":"$context.resourcePath",'
                     '"status":"$context.status","latency":"$context.responseLatency"}')


def post_deploy(s: Any, stage: str, outputs: dict[str, str], *, api_stage: str = "api",
                deployed_dir: Path = DEPLOYED_DIR) -> list[str]:
    resources = deployed_resources(stage, deployed_dir)
    lam = s.client("lambda")
    done = []
    for name, fn in FUNCTIONS.items():
        res = resources.get(name)
        if fn.asynchronous and res and res.get("resource_type") == "lambda_function":
            lam.update_function_configuration(FunctionName=res["lambda_arn"],
                                              DeadLetterConfig={"TargetArn": outputs["DeadLetterQueueArn"]})
            lam.get_waiter("function_updated_v2").wait(FunctionName=res["lambda_arn"])
            done.append(f"dead-letter queue on {name}")
    api = resources.get("rest_api")
    if api:
        s.client("apigateway").update_stage(restApiId=api["rest_api_id"], stageName=api_stage, patchOperations=[
            {"op": "replace", "path": "/tracingEnabled", "value": "true"},
            {"op": "replace", "path": "/accessLogSettings/destinationArn",
             "value": outputs["ApiAccessLogGroupArn"]},
            {"op": "replace", "path": "/accessLogSettings/format", "value": ACCESS_LOG_FORMAT},
            {"op": "replace", "path": "/*/*/metrics/enabled", "value": "true"},
        ])
        done.append("API access logs, tracing and metrics")
    return done


# ---------------------------------------------------------------- smoke check
def signed_get(url: str, credentials: Any, region: str, timeout: float = 10.0) -> tuple[int, bytes]:
    """GET with SigV4 for API Gateway (service execute-api)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    request = AWSRequest(method="GET", url=url, headers={"Accept": "application/json"})
    SigV4Auth(credentials, "execute-api", region).add_auth(request)
    prepared = urllib.request.Request(url, headers=dict(request.headers.items()), method="GET")
    try:
        with urllib.request.urlopen(prepared, timeout=timeout) as resp:  # noqa: S310 - https URL of our API
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def smoke(url: str, credentials: Any, region: str, *, attempts: int = 12, wait_s: float = 5.0) -> bytes:
    last: tuple[int, bytes] | str = ""
    for i in range(attempts):
        try:
            status, body = signed_get(url, credentials, region)
            if status == 200:
                return body
            last = (status, body[:500])
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            last = str(exc)
        if i + 1 < attempts:
            time.sleep(wait_s)
    raise DeployError(f"GET {url} did not answer 200 after {attempts} tries: {last}")


def api_url(stage: str, deployed_dir: Path = DEPLOYED_DIR) -> str:
    api = deployed_resources(stage, deployed_dir).get("rest_api")
    if not api:
        raise DeployError(f"stage {stage} has no REST API in its Chalice state (no routes in app.py?)")
    return api["rest_api_url"].rstrip("/")


# ---------------------------------------------------------------- CLI
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("command", choices=["stacks", "pull-state", "push-state", "post", "smoke", "outputs"])
    p.add_argument("--stage", required=True)
    p.add_argument("--app", default="newsops")
    p.add_argument("--region", default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"))
    p.add_argument("--param", action="append", default=[], help="Key=Value stack parameters (repeatable)")
    p.add_argument("--url", help="smoke: the URL to GET (default: the stage's API + /health)")
    args = p.parse_args(argv)
    try:
        s = session(args.region)
        outputs_path = DEPLOY_DIR / args.stage / "outputs.json"
        if args.command == "stacks":
            deploy_stacks(s, args.app, args.stage, parse_params(args.param))
            return 0
        if args.command == "outputs":
            outputs = outputs_of(stack_status(s.client("cloudformation"), f"{args.app}-{args.stage}") or {})
            print(json.dumps(outputs, indent=2, sort_keys=True))
            return 0
        if args.command == "smoke":
            url = args.url or api_url(args.stage) + "/health"
            body = smoke(url, s.get_credentials(), s.region_name)
            print(f"GET {url}: 200 {body[:200].decode(errors='replace')}")
            return 0
        if not outputs_path.exists():
            raise DeployError(f"{outputs_path} is missing: run `make deploy STAGE={args.stage}` (stacks first)")
        outputs = json.loads(outputs_path.read_text())
        bucket = outputs["ArtifactsBucketName"]
        if args.command == "pull-state":
            pull_state(s.client("s3"), bucket, args.stage)
        elif args.command == "push-state":
            push_state(s.client("s3"), bucket, args.stage)
        elif args.command == "post":
            for line in post_deploy(s, args.stage, outputs):
                print(f"post-deploy: {line}")
        return 0
    except DeployError as exc:
        print(f"deploy {args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
