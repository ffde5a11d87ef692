"""`make package`: ONE CloudFormation template for the whole stage, written by Chalice.

    build/package/sam.json        the stack (infra/newsops.yaml as built) + the Chalice app
    build/package/deployment.zip  the Lambda code (CodeUri of every function)

How: ``chalice package --merge-template`` merges our template into the one Chalice
generates. The template merged in is the built stack template plus, for every function of
the app, the properties that bind it to the stack: its fixed name (the one the stack's
roles, log groups and state machine expect), its role, its environment (the same
expressions as the stack outputs that `make deploy` writes into .chalice/config.json) and,
for asynchronously invoked functions, the dead-letter queue.

Chalice runs on a copy of the app under build/package-src/ with a generated Chalice config,
so packaging never depends on (or changes) the stage config that `make deploy` writes.

Deploy the result with `aws cloudformation package` + `aws cloudformation deploy`
(docs/deploy.md, "Alternative: one template").
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from chalice.utils import to_cfn_resource_name

from chalicelib.lineage import CODE_VERSION_ENV, code_version
from scripts.deploy import build_template
from scripts.deploy.layout import (
    API_HANDLER,
    CHALICE_CONFIG,
    ENV_FROM_OUTPUTS,
    FUNCTIONS,
    LINEAGE_ENV_FROM_OUTPUTS,
    REPO,
    STATIC_ENV,
)

OUT_DIR = REPO / "build" / "package"
SRC_DIR = REPO / "build" / "package-src"
APP_FILES = ("app.py", "requirements.txt")
APP_DIRS = ("chalicelib", "vendor")
PLACEHOLDER_ROLE = "arn:aws:iam::123456789012:role/replaced-by-the-merge-template"

# Checks that do not apply to a function, by how it is invoked (each listed in docs/deploy.md).
SKIP_ALL_FUNCTIONS = [
    {"id": "CKV_AWS_117", "comment": "The functions call only public AWS endpoints (S3, DynamoDB, Step "
     "Functions, Batch, SNS, OpenSearch over HTTPS+SigV4); a VPC would add NAT or interface-endpoint cost "
     "and reach nothing private."},
    {"id": "CKV_AWS_115", "comment": "Reserved concurrency is a per-account budget: a new account has too "
     "little to reserve any. Set reserved_concurrency in .chalice/config.json once the quota is raised."},
    {"id": "CKV_AWS_173", "comment": "The environment holds resource names and ARNs only, no secrets; "
     "Lambda encrypts it at rest with its service key."},
]
SKIP_SYNC_FUNCTIONS = [
    {"id": "CKV_AWS_116", "comment": "Invoked synchronously (Step Functions or API Gateway): errors return "
     "to the caller (the state machine's Catch, the HTTP client); a dead-letter queue would never receive "
     "anything."},
]


def app_functions(app_file: Path = REPO / "app.py") -> list[str]:
    """Chalice names of the app's Lambda functions (API handler included when it has routes)."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    if app_file.resolve() == (REPO / "app.py").resolve():
        module = importlib.import_module("app")
    else:
        spec = importlib.util.spec_from_file_location(f"_packaged_app_{abs(hash(app_file))}", app_file)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    chalice_app = module.app
    names = [f.name for f in chalice_app.pure_lambda_functions]
    names += [e.name for e in chalice_app.event_sources]
    if chalice_app.routes:
        names.append(API_HANDLER)
    return names


def logical_id(name: str) -> str:
    return "APIHandler" if name == API_HANDLER else to_cfn_resource_name(name)


def function_overlay(name: str, stack: dict[str, Any]) -> dict[str, Any]:
    try:
        fn = FUNCTIONS[name]
    except KeyError:
        raise SystemExit(
            f"function {name!r} of app.py has no role in the stack: add it to FUNCTIONS in "
            f"scripts/deploy/layout.py and give it a role and log group in infra/newsops.yaml"
        ) from None
    outputs = stack["Outputs"]
    env = {**STATIC_ENV, **{k: outputs[o]["Value"] for k, o in
                            {**ENV_FROM_OUTPUTS, **LINEAGE_ENV_FROM_OUTPUTS}.items()},
           CODE_VERSION_ENV: code_version()}  # lineage: the commit this package was built from
    suffix = "" if name == API_HANDLER else f"-{name}"
    props: dict[str, Any] = {
        "FunctionName": {"Fn::Sub": "${AppName}-${Stage}" + suffix},
        "Role": {"Fn::GetAtt": [fn.role, "Arn"]},
        "Environment": {"Variables": env},
    }
    skips = list(SKIP_ALL_FUNCTIONS)
    if fn.asynchronous:
        props["DeadLetterQueue"] = {"Type": "SQS", "TargetArn": {"Fn::GetAtt": ["AsyncFailureQueue", "Arn"]}}
    else:
        skips += SKIP_SYNC_FUNCTIONS
    if name == "ingest":
        # Only this stage's bucket: every bucket with EventBridge notifications sends to the bus.
        props["Events"] = {"IngestEvent": {"Properties": {"Pattern": {
            "detail": {"bucket": {"name": [{"Ref": "DataBucket"}]}}}}}}
    return {"Properties": props, "DependsOn": [fn.log_group], "Metadata": {"checkov": {"skip": skips}}}


# One JSON line per request in the API's access log.
ACCESS_LOG_FORMAT = json.dumps({
    "requestId": "$context.requestId", "ip": "$context.identity.sourceIp",
    "caller": "$context.identity.caller", "user": "$context.identity.userArn",
    "time": "$context.requestTime", "method": "$context.httpMethod",
    "path": "$context.resourcePath", "status": "$context.status",
    "latency": "$context.responseLatency", "error": "$context.error.message",
}, separators=(",", ":"))


def rest_api_overlay() -> dict[str, Any]:
    return {
        "Properties": {
            "TracingEnabled": True,
            "AccessLogSetting": {"DestinationArn": {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]},
                                 "Format": ACCESS_LOG_FORMAT},
            "MethodSettings": [{"ResourcePath": "/*", "HttpMethod": "*", "MetricsEnabled": True,
                                "ThrottlingBurstLimit": 50, "ThrottlingRateLimit": 20}],
        },
        "DependsOn": ["ApiGatewayAccount"],
        "Metadata": {"checkov": {"skip": [
            {"id": "CKV_AWS_120", "comment": "The API serves live run status and search: a cache would "
             "serve stale answers, and a cache cluster is billed by the hour."},
        ]}},
    }


def merge_template(stack: dict[str, Any], functions: list[str]) -> dict[str, Any]:
    merged = json.loads(json.dumps(stack))
    for name in functions:
        lid = logical_id(name)
        if lid in merged["Resources"]:
            raise SystemExit(f"logical id {lid} of function {name!r} collides with a stack resource")
        merged["Resources"][lid] = function_overlay(name, stack)
    if API_HANDLER in functions:
        merged["Resources"]["RestAPI"] = rest_api_overlay()
    return merged


def chalice_config(stage: str) -> dict[str, Any]:
    config = json.loads(CHALICE_CONFIG.read_text())
    stage_config = config.setdefault("stages", {}).setdefault(stage, {})
    # Replaced by the merge template (Role: !GetAtt <Function>Role.Arn); Chalice needs a value.
    stage_config["iam_role_arn"] = PLACEHOLDER_ROLE
    for fn in stage_config.get("lambda_functions", {}).values():
        fn.pop("iam_role_arn", None)
    return config


def stage_source(stage: str, src: Path = SRC_DIR, app_file: Path = REPO / "app.py") -> Path:
    """A copy of the app for Chalice (its .chalice/deployments cache is kept between runs)."""
    src.mkdir(parents=True, exist_ok=True)
    shutil.copy2(app_file, src / "app.py")
    for name in APP_FILES:
        if name != "app.py" and (REPO / name).exists():
            shutil.copy2(REPO / name, src / name)
    for name in APP_DIRS:
        shutil.rmtree(src / name, ignore_errors=True)
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, src / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache"))
    (src / ".chalice").mkdir(exist_ok=True)
    (src / ".chalice" / "config.json").write_text(json.dumps(chalice_config(stage), indent=2))
    return src


def verify(template: dict[str, Any], functions: list[str]) -> None:
    resources = template["Resources"]
    problems = []
    for name in functions:
        res = resources.get(logical_id(name), {})
        if res.get("Type") != "AWS::Serverless::Function":
            problems.append(f"{logical_id(name)} ({name}) is not a function in Chalice's template")
        for event_id, event in res.get("Properties", {}).get("Events", {}).items():
            if "Type" not in event:
                problems.append(f"{logical_id(name)}: event {event_id} of the merge template is not one "
                                f"Chalice generated (renamed?): fix function_overlay")
    if API_HANDLER in functions and resources.get("RestAPI", {}).get("Type") != "AWS::Serverless::Api":
        problems.append("RestAPI is not the API Chalice generated (renamed?): fix rest_api_overlay")
    roles = {f.role for f in FUNCTIONS.values()}
    for lid, res in resources.items():
        if res.get("Type") in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
            role = res.get("Properties", {}).get("Role")
            if not (isinstance(role, dict) and role.get("Fn::GetAtt", [None])[0] in roles):
                problems.append(f"function {lid} has no stack role (Role={role!r})")
    if problems:
        raise SystemExit("package: " + "; ".join(problems))


def package(stage: str, out: Path = OUT_DIR, src: Path = SRC_DIR,
            app_file: Path = REPO / "app.py") -> Path:
    out, src, app_file = out.resolve(), src.resolve(), app_file.resolve()
    stack = build_template.build()
    functions = app_functions(app_file)
    stage_source(stage, src, app_file)
    merge_path = src / "merge.json"
    merge_path.write_text(json.dumps(merge_template(stack, functions), indent=1))
    if out.exists():
        shutil.rmtree(out)
    chalice = Path(sys.executable).parent / "chalice"
    # Chalice asks for a region when the app has routes; the template itself uses ${AWS::Region}.
    env = {**os.environ}
    env.setdefault("AWS_DEFAULT_REGION", os.environ.get("AWS_REGION", "us-east-1"))
    proc = subprocess.run(
        [str(chalice), "--project-dir", str(src), "package", "--stage", stage,
         "--merge-template", str(merge_path), str(out)],
        capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"chalice package failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    template_path = out / "sam.json"
    verify(json.loads(template_path.read_text()), functions)
    return template_path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="one CloudFormation template (stack + Chalice app)")
    p.add_argument("--stage", default="dev")
    p.add_argument("--out", type=Path, default=OUT_DIR)
    p.add_argument("--src", type=Path, default=SRC_DIR, help="where the copy of the app is staged")
    p.add_argument("--app", type=Path, default=REPO / "app.py", help="the Chalice app file")
    args = p.parse_args(argv)
    path = package(args.stage, args.out, args.src, args.app)
    size = path.stat().st_size
    print(f"wrote {path} ({size} bytes) and {path.parent / 'deployment.zip'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
