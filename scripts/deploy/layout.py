"""What the stack and the Chalice app agree on: function names, roles, environment.

One table, read by the template builder, the stage-config writer, the package overlay and
the tests, so the stack, `.chalice/config.json` and the code cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
INFRA_SOURCE = REPO / "infra" / "newsops.yaml"
BUILT_TEMPLATE = REPO / "build" / "infra" / "newsops.json"
BOOTSTRAP_SOURCE = REPO / "infra" / "bootstrap.yaml"
BUILT_BOOTSTRAP = REPO / "build" / "infra" / "bootstrap.json"
CHALICE_CONFIG = REPO / ".chalice" / "config.json"
DEFINITION = REPO / "statemachine" / "pipeline.asl.json"
TRAIN_DEFINITION = REPO / "statemachine" / "train.asl.json"
TASKS_FILE = REPO / "chalicelib" / "config" / "tasks.json"
# CloudFormation accepts a template body up to this size without an S3 upload.
TEMPLATE_BODY_LIMIT = 51_200


@dataclass(frozen=True)
class Function:
    """A Lambda function of the Chalice app and what the stack prepares for it."""

    name: str  # the Chalice name: @app.lambda_function(name=...), on_cw_event(name=...), schedule(name=...)
    role: str  # logical id of its IAM role in infra/newsops.yaml
    log_group: str  # logical id of its log group
    role_output: str  # stack output with the role ARN
    asynchronous: bool  # invoked by EventBridge/schedule (gets the dead-letter queue)

    def physical_name(self, app: str, stage: str) -> str:
        """The name Chalice gives the function (the API handler has no suffix)."""
        return f"{app}-{stage}" if self.name == API_HANDLER else f"{app}-{stage}-{self.name}"


API_HANDLER = "api_handler"

FUNCTIONS: dict[str, Function] = {f.name: f for f in (
    Function("ingest", "IngestFunctionRole", "IngestLogGroup", "IngestRoleArn", True),
    Function("index", "IndexFunctionRole", "IndexLogGroup", "IndexRoleArn", False),
    Function("verify", "VerifyFunctionRole", "VerifyLogGroup", "VerifyRoleArn", False),
    Function("cleanup", "CleanupFunctionRole", "CleanupLogGroup", "CleanupRoleArn", False),
    Function("crawl", "CrawlFunctionRole", "CrawlLogGroup", "CrawlRoleArn", True),
    Function("verifier", "VerifierFunctionRole", "VerifierLogGroup", "VerifierRoleArn", True),
    Function("reaper", "ReaperFunctionRole", "ReaperLogGroup", "ReaperRoleArn", True),
    Function(API_HANDLER, "ApiFunctionRole", "ApiLogGroup", "ApiRoleArn", False),
)}

# Environment of every function: NEWSOPS_* setting -> the stack output that provides it.
ENV_FROM_OUTPUTS: dict[str, str] = {
    "NEWSOPS_STAGE": "Stage",
    "NEWSOPS_BUCKET": "DataBucketName",
    "NEWSOPS_RUNS_TABLE": "RunsTableName",
    "NEWSOPS_STATE_TABLE": "StateTableName",
    "NEWSOPS_ALERTS_TOPIC_ARN": "AlertsTopicArn",
    "NEWSOPS_STATE_MACHINE_ARN": "StateMachineArn",
    "NEWSOPS_TRAIN_STATE_MACHINE_ARN": "TrainStateMachineArn",
    "NEWSOPS_JOB_QUEUE": "JobQueueArn",
    "NEWSOPS_MAX_PARALLEL_JOBS": "MaxParallelJobs",
    "NEWSOPS_JOB_DEFINITION_PREFIX": "JobDefinitionPrefix",
    "NEWSOPS_SEARCH_BACKEND": "SearchBackend",
    "NEWSOPS_SEARCH_URL": "SearchUrl",
    "NEWSOPS_SEARCH_INDEX": "SearchIndex",
}
# Lineage, not settings (chalicelib/lineage.py reads them): the batch image the job definitions
# run, so that ingest records it in the run manifest.
LINEAGE_ENV_FROM_OUTPUTS: dict[str, str] = {"NEWSOPS_IMAGE": "BatchImageUri"}
# Set in .chalice/config.json itself (not resource names).
STATIC_ENV: dict[str, str] = {"NEWSOPS_BACKEND": "aws"}
# Set by `make deploy` from git (lineage: which code produced a run).
DEPLOY_ENV = ("NEWSOPS_CODE_VERSION",)

# The ASL placeholders and what fills them (DefinitionSubstitutions of the state machine).
DEFINITION_SUBSTITUTIONS = ("JobQueueArn", "IndexFunctionArn", "VerifyFunctionArn",
                            "CleanupFunctionArn", "AlertsTopicArn")
TRAIN_DEFINITION_SUBSTITUTIONS = ("JobQueueArn", "AlertsTopicArn")
# <AppName>-<Stage>-train: the training steps' job definition (chalicelib.training.job_definition
# names it <NEWSOPS_JOB_DEFINITION_PREFIX>-train); no task may take that name.
TRAIN_JOB_DEFINITION = "train"
