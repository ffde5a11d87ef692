"""A newsops deployment inside moto: bucket, tables, topic (+ an SQS subscriber), Batch queue and
job definitions, the three Lambdas and the state machines (pipeline, training), built the way
the stack builds them.

Imported as ``tests.aws.moto_world`` by tests/aws and tests/conformance alike.
"""

from __future__ import annotations

import io
import json
import logging
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chalicelib.aws import client as aws_client
from chalicelib.ledger.dynamodb import create_tables
from chalicelib.settings import Settings
from chalicelib.workflow import definition as asl_definition

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
STACK = "newsops-test"


def moto_config(*, execute: bool = True) -> dict[str, Any]:
    return {"stepfunctions": {"execute_state_machine": execute},
            "batch": {"use_docker": False}, "lambda": {"use_docker": False}}


@contextmanager
def mocked_aws(monkeypatch: Any, *, execute: bool = True, batch_casing: bool = True,
               states_errors: bool = True, batch_jobs_atomic: bool = True) -> Iterator[None]:
    """moto with fake credentials and (unless told not to) the pipeline patches; nothing leaves the process."""
    from moto import mock_aws

    from tests.support.moto_patches import atomic_batch_jobs, atomic_dynamodb_writes, patched_moto

    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION,
                        "AWS_REGION": REGION}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("MOTO_SIMPLE_BATCH_FAIL_AFTER", raising=False)
    # moto's interpreter logs whole state objects (kilobytes) on every handled failure.
    quiet = logging.getLogger("moto.stepfunctions")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        with mock_aws(config=moto_config(execute=execute)), atomic_dynamodb_writes(), \
                atomic_batch_jobs() if batch_jobs_atomic else nullcontext(), \
                patched_moto(batch_casing=batch_casing, states_errors=states_errors):
            yield
    finally:
        quiet.setLevel(level)


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("handler.py", "def handler(event, context):\n    return event\n")
    return buf.getvalue()


@dataclass
class World:
    bucket: str = f"{STACK}-data"
    runs_table: str = f"{STACK}-runs"
    state_table: str = f"{STACK}-state"
    queue_name: str = f"{STACK}-gpu"
    job_definition_prefix: str = "newsops"
    role_arn: str = ""
    topic_arn: str = ""
    queue_arn: str = ""
    alerts_queue_url: str = ""
    lambda_arns: dict[str, str] = field(default_factory=dict)
    state_machine_arn: str = ""
    train_state_machine_arn: str = ""
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = aws_client(service, region=REGION)
        return self._clients[service]

    # -- building ---------------------------------------------------------------------------
    @classmethod
    def create(cls, *, task_names: tuple[str, ...] = ("fake",), with_pipeline: bool = False) -> World:
        w = cls()
        iam = w.client("iam")
        w.role_arn = iam.create_role(RoleName=f"{STACK}-role", AssumeRolePolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": []}))["Role"]["Arn"]
        w.client("s3").create_bucket(Bucket=w.bucket)
        create_tables(w.client("dynamodb"), w.runs_table, w.state_table)
        sns, sqs = w.client("sns"), w.client("sqs")
        w.topic_arn = sns.create_topic(Name=f"{STACK}-alerts")["TopicArn"]
        w.alerts_queue_url = sqs.create_queue(QueueName=f"{STACK}-alerts-inbox")["QueueUrl"]
        inbox_arn = sqs.get_queue_attributes(QueueUrl=w.alerts_queue_url, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=w.topic_arn, Protocol="sqs", Endpoint=inbox_arn)
        batch = w.client("batch")
        env = batch.create_compute_environment(computeEnvironmentName=f"{STACK}-ce", type="UNMANAGED",
                                               state="ENABLED", serviceRole=w.role_arn)
        w.queue_arn = batch.create_job_queue(
            jobQueueName=w.queue_name, state="ENABLED", priority=1,
            computeEnvironmentOrder=[{"order": 1, "computeEnvironment": env["computeEnvironmentArn"]}],
        )["jobQueueArn"]
        for task in task_names:
            w.register_job_definition(task)
        lam = w.client("lambda")
        for name in ("index", "verify", "cleanup"):
            w.lambda_arns[name] = lam.create_function(
                FunctionName=f"{STACK}-{name}", Runtime="python3.11", Role=w.role_arn,
                Handler="handler.handler", Code={"ZipFile": _zip()})["FunctionArn"]
        if with_pipeline:
            w.add_pipeline()
        return w

    def add_pipeline(self) -> str:
        """The pipeline state machine (moto parses ASL with a pure-Python ANTLR: ~0.5 s, so on demand)."""
        self.state_machine_arn = self.create_state_machine(self.pipeline_definition(), "pipeline")
        return self.state_machine_arn

    def add_training(self) -> str:
        """The train state machine and the train job definition (<prefix>-train)."""
        self.register_job_definition("train")
        self.train_state_machine_arn = self.create_state_machine(self.train_definition(), "train")
        return self.train_state_machine_arn

    def register_job_definition(self, task: str) -> str:
        return self.client("batch").register_job_definition(
            jobDefinitionName=f"{self.job_definition_prefix}-{task}", type="container",
            containerProperties={"image": "newsops-batch:test", "vcpus": 1, "memory": 512,
                                 "command": ["python", "-m", "newsops_batch"]})["jobDefinitionArn"]

    def substitutions(self) -> dict[str, str]:
        """What the deployment fills into ``${…}``, with this world's ARNs."""
        return {"JobQueueArn": self.queue_arn, "IndexFunctionArn": self.lambda_arns["index"],
                "VerifyFunctionArn": self.lambda_arns["verify"],
                "CleanupFunctionArn": self.lambda_arns["cleanup"], "AlertsTopicArn": self.topic_arn}

    def pipeline_definition(self) -> dict[str, Any]:
        return asl_definition.load(self.substitutions())

    def train_definition(self) -> dict[str, Any]:
        return asl_definition.load(self.substitutions(), asl_definition.TRAIN_DEFINITION_PATH)

    def create_state_machine(self, definition: dict[str, Any], name: str) -> str:
        return self.client("stepfunctions").create_state_machine(
            name=name, definition=json.dumps(definition), roleArn=self.role_arn)["stateMachineArn"]

    def settings(self, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "backend": "aws", "bucket": self.bucket, "runs_table": self.runs_table,
            "state_table": self.state_table, "alerts_topic_arn": self.topic_arn,
            "state_machine_arn": self.state_machine_arn, "job_queue": self.queue_arn,
            "train_state_machine_arn": self.train_state_machine_arn,
            "job_definition_prefix": self.job_definition_prefix, **overrides}
        return Settings(**values)

    @contextmanager
    def installed_runtime(self, tmp_path: Path, tasks: list[dict[str, Any]], **overrides: Any) -> Iterator[Any]:
        """A runtime on this world (tasks written to a config file), installed as the process's
        for the handlers; the previous one back afterwards."""
        from chalicelib.factory import build_runtime
        from chalicelib.runtime import set_runtime

        path = tmp_path / "tasks.json"
        path.write_text(json.dumps({"tasks": tasks}))
        rt = build_runtime(self.settings(home=tmp_path / "home", tasks_file=path, **overrides))
        previous = set_runtime(rt)
        try:
            yield rt
        finally:
            set_runtime(previous)

    # -- running ----------------------------------------------------------------------------
    def queue_lambda_results(self, *payloads: Any) -> None:
        """What moto's Docker-less Lambda answers to the next invocations, in order."""
        from moto.awslambda_simple.models import lambda_simple_backends

        backend = lambda_simple_backends[ACCOUNT][REGION]
        backend.lambda_simple_results_queue.extend(json.dumps(p) for p in payloads)

    def start(self, state_machine_arn: str, payload: Any, name: str) -> str:
        return self.client("stepfunctions").start_execution(
            stateMachineArn=state_machine_arn, name=name, input=json.dumps(payload))["executionArn"]

    def wait(self, execution_arn: str, *, timeout_s: float = 60.0) -> dict[str, Any]:
        sfn = self.client("stepfunctions")
        deadline = time.monotonic() + timeout_s
        while True:
            d = sfn.describe_execution(executionArn=execution_arn)
            if d["status"] != "RUNNING":
                return d
            if time.monotonic() > deadline:
                sfn.stop_execution(executionArn=execution_arn, error="test.Timeout")
                raise TimeoutError(f"moto execution still RUNNING after {timeout_s}s: {execution_arn}")
            time.sleep(0.05)

    def run(self, state_machine_arn: str, payload: Any, name: str, *,
            timeout_s: float = 60.0) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Start, wait for the end, return (DescribeExecution, history events)."""
        arn = self.start(state_machine_arn, payload, name)
        described = self.wait(arn, timeout_s=timeout_s)
        return described, self.history(arn)

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        return self.client("stepfunctions").get_execution_history(
            executionArn=execution_arn, maxResults=1000)["events"]

    def alerts(self, *, wait_s: float = 1.0) -> list[dict[str, Any]]:
        """Every SNS message delivered to the subscribed SQS queue (envelope parsed)."""
        sqs = self.client("sqs")
        out: list[dict[str, Any]] = []
        deadline = time.monotonic() + wait_s
        while True:
            msgs = sqs.receive_message(QueueUrl=self.alerts_queue_url, MaxNumberOfMessages=10,
                                       WaitTimeSeconds=0).get("Messages", [])
            for m in msgs:
                out.append(json.loads(m["Body"]))
                sqs.delete_message(QueueUrl=self.alerts_queue_url, ReceiptHandle=m["ReceiptHandle"])
            if not msgs and (out or time.monotonic() > deadline):
                return out
            if not msgs:
                time.sleep(0.05)

    def jobs(self) -> list[dict[str, Any]]:
        """Every top-level job submitted to the queue, described (array children left out)."""
        batch = self.client("batch")
        summaries = batch.list_jobs(jobQueue=self.queue_name, filters=[
            {"name": "JOB_NAME", "values": ["*"]}])["jobSummaryList"]
        ids = [s["jobId"] for s in summaries if ":" not in s["jobId"]]
        return batch.describe_jobs(jobs=ids)["jobs"] if ids else []

    def stop_all(self) -> None:
        """Stop what is still running, so no moto thread outlives the mock."""
        sfn = self.client("stepfunctions")
        for sm in sfn.list_state_machines()["stateMachines"]:
            for e in sfn.list_executions(stateMachineArn=sm["stateMachineArn"],
                                         statusFilter="RUNNING")["executions"]:
                sfn.stop_execution(executionArn=e["executionArn"])


def moto_job(job_id: str) -> Any:
    """moto's own record of a Batch job (to see what TerminateJob did to it)."""
    from moto.batch.models import batch_backends

    return batch_backends[ACCOUNT][REGION]._jobs[job_id]


def hold_running(job_id: str) -> None:
    """moto's Docker-less Batch finishes a job as it is submitted; put it back to RUNNING,
    the state a GPU job is in when its run fails elsewhere."""
    job = moto_job(job_id)
    job.status = "RUNNING"
    job.job_stopped = False


def history_states(events: list[dict[str, Any]]) -> list[str]:
    from chalicelib.workflow.stepfunctions import states_entered

    return states_entered(events)


def task_parameters(events: list[dict[str, Any]], resource_type: str) -> list[dict[str, Any]]:
    """The parameters of every task of a kind (``batch``, ``lambda``, ``sns``) as scheduled."""
    return [json.loads(e["taskScheduledEventDetails"]["parameters"]) for e in events
            if e["type"] == "TaskScheduled" and e["taskScheduledEventDetails"]["resourceType"] == resource_type]
