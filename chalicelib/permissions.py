"""Which AWS operations each Lambda function and each batch job can call: the table the IAM
roles of infra/newsops.yaml are checked against, both ways (tests/infra/test_permissions.py).

``CALLERS`` names, per function of app.py (and the two job roles), every IAM action its role
must grant and why. The tests hold it to the code and to the template:

- every action in it is one our code calls through a boto3 client (``client_actions``, read from
  the adapters' source) or one the platform calls for the function (``PLATFORM``);
- ingest's real calls, recorded under moto on its accepted and rejected paths, are in it;
- the rendered template grants each role exactly its caller's actions: a missing grant fails
  (AccessDenied on AWS, where moto enforces nothing), and so does an unused one.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# The adapters that hold a boto3 client: source file -> the service (botocore's name).
ADAPTERS: dict[str, str] = {
    "chalicelib/store/s3.py": "s3",
    "chalicelib/ledger/dynamodb.py": "dynamodb",
    "chalicelib/workflow/stepfunctions.py": "stepfunctions",
    "chalicelib/compute/batch.py": "batch",
    "chalicelib/alerts/sns.py": "sns",
    "chalicelib/alerts/webhook.py": "ssm",
}
# botocore service name -> IAM service prefix, where they differ.
IAM_PREFIX = {"stepfunctions": "states"}
# Operations authorised by another action than their own name (the IAM service authorization
# reference): S3's list, head and multipart operations; a read of a named version.
OPERATION_ACTIONS: dict[str, tuple[str, ...]] = {
    "s3:ListObjectsV2": ("s3:ListBucket",),
    "s3:ListObjects": ("s3:ListBucket",),
    "s3:HeadObject": ("s3:GetObject", "s3:GetObjectVersion"),
    "s3:GetObject": ("s3:GetObject", "s3:GetObjectVersion"),
    "s3:CreateMultipartUpload": ("s3:PutObject",),
    "s3:UploadPart": ("s3:PutObject",),
    "s3:CompleteMultipartUpload": ("s3:PutObject",),
}
# What the platform does for the function with its role: Lambda writes its logs and sends a
# failed asynchronous event to the dead-letter queue; S3, DynamoDB, SNS and SQS use the data
# key for it; the search cluster is reached by SigV4-signed HTTP (no boto3 client).
PLATFORM = {"logs:CreateLogStream", "logs:PutLogEvents", "sqs:SendMessage", "kms:Decrypt",
            "kms:GenerateDataKey", "es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut",
            "es:ESHttpDelete", "elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"}

_LOGS = {"logs:CreateLogStream": "Lambda writes the function's logs",
         "logs:PutLogEvents": "Lambda writes the function's logs"}
_KMS = {"kms:Decrypt": "the data key, through S3/DynamoDB/SNS/SQS",
        "kms:GenerateDataKey": "the data key, through S3/DynamoDB/SNS/SQS"}
_DLQ = {"sqs:SendMessage": "Lambda sends a failed asynchronous event to the dead-letter queue"}
_SEARCH_READ = {"es:ESHttpGet": "search queries", "es:ESHttpHead": "search queries",
                "es:ESHttpPost": "search queries (_search, _count)"}

CALLERS: dict[str, dict[str, str]] = {
    "ingest": {
        **_LOGS, **_KMS, **_DLQ,
        "s3:GetObject": "read the incoming object and the run files (store.open_read, head)",
        "s3:GetObjectVersion": "read exactly the version the event names (VersionId)",
        "s3:ListBucket": "list a run's chunks and the incoming prefix",
        "s3:PutObject": "write chunks, the manifest, the quarantine and the rejected copy",
        "s3:DeleteObject": "a rejected input's chunks already written are deleted",
        "s3:AbortMultipartUpload": "a streamed write (quarantine, rejected copy) that fails is aborted",
        "dynamodb:PutItem": "claim the run", "dynamodb:UpdateItem": "record the run's state",
        "dynamodb:GetItem": "read the claim",
        "states:StartExecution": "start the run's execution",
        "states:DescribeExecution": "after an error, did the run's execution start?",
        "sns:Publish": "alert on a rejected input",
    },
    "index": {
        **_LOGS, **_KMS,
        "s3:GetObject": "read the run's task results", "s3:ListBucket": "list the run's results",
        "dynamodb:GetItem": "read the run", "dynamodb:UpdateItem": "record each slice's outcome",
        "es:ESHttpGet": "bulk-index", "es:ESHttpHead": "bulk-index", "es:ESHttpPost": "bulk-index",
        "es:ESHttpPut": "create the index", "es:ESHttpDelete": "replace a run's documents",
    },
    "verify": {
        **_LOGS, **_KMS, **_SEARCH_READ,
        "s3:GetObject": "read results and outputs", "s3:PutObject": "write report.json",
        "s3:ListBucket": "list the run's outputs",
        "dynamodb:GetItem": "read the run", "dynamodb:UpdateItem": "record the verdict",
        "batch:ListJobs": "the run's jobs (cost)", "batch:DescribeJobs": "each child's attempts (cost)",
        "sns:Publish": "the run's alert",
    },
    "cleanup": {
        **_LOGS, **_KMS,
        "batch:ListJobs": "find the failed run's jobs", "batch:DescribeJobs": "their state",
        "batch:TerminateJob": "stop them",
        "s3:GetObject": "read the run's files", "s3:PutObject": "write the failure report",
        "s3:ListBucket": "list the run's outputs",
        "dynamodb:GetItem": "read the run", "dynamodb:UpdateItem": "record the failure",
    },
    "crawl": {
        **_LOGS, **_KMS, **_DLQ,
        "s3:PutObject": "archive raw pages, publish incoming batches",
        "s3:GetObject": "read what was archived", "s3:ListBucket": "list raw and incoming",
        "dynamodb:GetItem": "crawl state", "dynamodb:PutItem": "crawl state",
        "dynamodb:UpdateItem": "crawl state", "dynamodb:Query": "crawl state",
    },
    "verifier": {
        **_LOGS, **_KMS, **_DLQ, **_SEARCH_READ,
        "s3:GetObject": "read runs and incoming", "s3:ListBucket": "freshness of runs, incoming, raw",
        "dynamodb:GetItem": "ledger and findings", "dynamodb:PutItem": "findings",
        "dynamodb:UpdateItem": "ledger and findings", "dynamodb:Query": "stuck runs (index)",
        "batch:ListJobs": "orphaned jobs", "batch:DescribeJobs": "orphaned jobs",
        "batch:TerminateJob": "stop orphaned jobs",
        "states:DescribeExecution": "is the run alive?", "states:ListExecutions": "is the run alive?",
        "sns:Publish": "alerts",
    },
    "reaper": {
        **_LOGS, **_KMS, **_DLQ,
        "batch:ListJobs": "the stage's active jobs", "batch:DescribeJobs": "their runs",
        "batch:TerminateJob": "stop jobs whose run is no longer alive",
        "states:DescribeExecution": "is the run alive?", "states:ListExecutions": "is the run alive?",
        "dynamodb:GetItem": "the run", "dynamodb:UpdateItem": "record the reaping",
        "dynamodb:Query": "running runs (index)",
        "s3:GetObject": "the run's manifest", "sns:Publish": "what was reaped",
    },
    "api_handler": {
        **_LOGS, **_SEARCH_READ,
        "kms:Decrypt": "read S3 and DynamoDB through the data key",
        "s3:GetObject": "reports", "s3:ListBucket": "runs",
        "dynamodb:GetItem": "the ledger", "dynamodb:Query": "the ledger's indexes",
    },
    # The GPU chunk job (BatchJobRole): read the run's inputs and models, write its outputs.
    "job": {
        **_KMS,
        "s3:GetObject": "the manifest, the chunk, models", "s3:GetObjectVersion": "a pinned model file",
        "s3:ListBucket": "models and the run's results",
        "s3:PutObject": "results, quarantine, the error of a failed chunk",
        "elasticfilesystem:ClientMount": "the shared model cache (EFS)",
        "elasticfilesystem:ClientWrite": "the shared model cache (EFS)",
    },
}

# Operations our code can call that no deployed function or job does, and why.
NOT_FROM_A_FUNCTION: dict[str, str] = {
    "batch:SubmitJob": "the state machine submits the jobs (BatchCompute.submit: tests, a person)",
    "states:GetExecutionHistory": "`newsops` commands, with a person's credentials",
    "states:StopExecution": "`newsops` commands, with a person's credentials",
    "ssm:GetParameter": "webhook alerts, which the deployed functions are not wired to",
    "dynamodb:CreateTable": "the ledger's setup (tests, a fresh account); the stack creates the tables",
    "dynamodb:DescribeTable": "the ledger's setup (tests, a fresh account); the stack creates the tables",
}

# The role each caller runs with (infra/newsops.yaml).
ROLES: dict[str, str] = {
    "ingest": "IngestFunctionRole", "index": "IndexFunctionRole", "verify": "VerifyFunctionRole",
    "cleanup": "CleanupFunctionRole", "crawl": "CrawlFunctionRole", "verifier": "VerifierFunctionRole",
    "reaper": "ReaperFunctionRole", "api_handler": "ApiFunctionRole", "job": "BatchJobRole",
}


def iam_actions(service: str, operation: str) -> tuple[str, ...]:
    """The IAM actions that authorise one API operation (``s3``, ``ListObjectsV2``)."""
    name = f"{IAM_PREFIX.get(service, service)}:{operation}"
    return OPERATION_ACTIONS.get(name, (name,))


def _operations(service: str) -> dict[str, str]:
    """boto3 method name -> API operation name, from botocore's bundled service model."""
    import botocore.session
    from botocore import xform_name

    model = botocore.session.get_session().get_service_model(service)
    return {xform_name(op): op for op in model.operation_names}


def client_calls(path: Path, service: str) -> Iterator[tuple[str, int]]:
    """(API operation, line) of every call in ``path`` of a method of ``service``'s client,
    and of every paginator it takes (``get_paginator("list_objects_v2")``)."""
    ops = _operations(service)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        name = node.func.attr
        if name in ("get_paginator", "get_waiter") and node.args and isinstance(node.args[0], ast.Constant):
            waiter = {"table_exists": "DescribeTable", "table_not_exists": "DescribeTable"}
            op = ops.get(str(node.args[0].value)) if name == "get_paginator" else waiter.get(str(node.args[0].value))
            if op:
                yield op, node.lineno
        elif name in ops:
            yield ops[name], node.lineno


def client_actions(root: Path = REPO) -> dict[str, set[str]]:
    """IAM action -> the adapter files whose code calls it (read from their source)."""
    found: dict[str, set[str]] = {}
    for rel, service in ADAPTERS.items():
        for op, _line in client_calls(root / rel, service):
            for action in iam_actions(service, op):
                found.setdefault(action, set()).add(rel)
    return found
