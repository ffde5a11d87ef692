"""Starting a training execution: statemachine/train.asl.json (train -> evaluate -> register).

The same definition runs on both backends, as the pipeline's does: Step Functions on AWS (the
state machine NEWSOPS_TRAIN_STATE_MACHINE_ARN), the local ASL interpreter otherwise, whose Batch
jobs are worker processes of the runtime's local compute. The execution is named by the train
id, so starting one id twice runs it once.

The execution input names the request and how to run each step, never the data itself: the
jobs read ``training/<id>/request.json`` (``python -m newsops_batch train|evaluate|register ID``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from pydantic import BaseModel, Field, ValidationError

from chalicelib.asl import TaskContext
from chalicelib.compute.local import DEFAULT_COMMAND
from chalicelib.contract import keys
from chalicelib.contract.schema import TrainRequest
from chalicelib.ledger.base import Ledger
from chalicelib.settings import Settings
from chalicelib.workflow import definition as asl_definition
from chalicelib.workflow.base import Execution, Workflow
from chalicelib.workflow.local import BATCH_SUBMIT_SYNC, LocalTaskDispatcher, LocalWorkflow

if TYPE_CHECKING:
    from chalicelib.runtime import Runtime

STEPS: tuple[str, ...] = ("train", "evaluate", "register")
# Evaluate loads the model and scores the dev data once; register copies files: neither comes
# near the train step's allowance (Settings.train_timeout_s).
STEP_TIMEOUT_S: dict[str, int] = {"evaluate": 1800, "register": 900}
# Batch job names take letters, digits, hyphens and underscores; a train id may also hold dots.
_NOT_IN_JOB_NAME = re.compile(r"[^A-Za-z0-9_-]")
# The local ledger keeps pipeline and training executions apart, as two state machines do.
LOCAL_NAMESPACE = "train-"


class TrainStep(BaseModel):
    """How the state machine submits one step's Batch job."""

    job_name: str = Field(max_length=128)
    command: list[str]  # the container's CMD: the image's ENTRYPOINT is `python -m newsops_batch`
    attempts: int = Field(ge=1, le=10)
    timeout_s: int = Field(ge=60)  # Batch's minimum attemptDurationSeconds
    sfn_timeout_s: int  # the Task's bound: every attempt plus the wait for an instance


class TrainExecutionInput(BaseModel):
    train_id: str
    task: str
    request: str  # the request's key: the look-at of the failure alert
    job_definition: str
    environment: list[dict[str, str]]
    # Batch ResourceRequirements overrides: a GPU when the task asks for one, else the job
    # definition's own (TrainGpus of the stack).
    resources: list[dict[str, str]]
    steps: dict[str, TrainStep]
    # Each step's job lands under jobs.<step>: present from the start, so no ResultPath has to
    # create a parent object.
    jobs: dict[str, Any] = Field(default_factory=dict)


def job_name(train_id: str, step: str) -> str:
    return f"{_NOT_IN_JOB_NAME.sub('_', train_id)}-{step}"


def job_definition(settings: Settings) -> str:
    """``<prefix>-train``: the stack's train job definition (build_template refuses a task of that name)."""
    return f"{settings.job_definition_prefix}-train"


def gpu_for(rt: Runtime, request: TrainRequest, gpu: int | None = None) -> int | None:
    """GPUs for the jobs: ``gpu`` if given, else the task's own when tasks.json has it, else
    None (the job definition decides)."""
    if gpu is not None:
        return gpu
    spec = next((t for t in rt.tasks.tasks if t.name == request.task), None)
    return spec.gpu if spec is not None else None


def execution_input(settings: Settings, request: TrainRequest, *, gpu: int | None = None) -> TrainExecutionInput:
    steps = {}
    for step in STEPS:
        timeout = settings.train_timeout_s if step == "train" else STEP_TIMEOUT_S[step]
        steps[step] = TrainStep(
            job_name=job_name(request.train_id, step), command=[step, request.train_id],
            attempts=settings.job_attempts, timeout_s=timeout,
            sfn_timeout_s=settings.job_attempts * timeout + settings.queue_wait_s)
    # A GPU count of 0 cannot be asked of Batch: a CPU-only step keeps the definition's value.
    resources = [{"Type": "GPU", "Value": str(gpu)}] if gpu else []
    return TrainExecutionInput(
        train_id=request.train_id, task=request.task, request=keys.training_request(request.train_id),
        job_definition=job_definition(settings),
        environment=[{"Name": "NEWSOPS_TRAIN_ID", "Value": request.train_id}],
        resources=resources, steps=steps)


def write_request(rt: Runtime, request: TrainRequest) -> None:
    """Put the request where the jobs read it; an id already holding another request is refused,
    since its execution (running or done) would be described by data it never saw."""
    key = keys.training_request(request.train_id)
    try:
        existing = TrainRequest.model_validate_json(rt.store.get(key))
    except KeyError:
        existing = None
    except ValidationError:
        raise ValueError(f"{key} exists and is not a training request: choose another train id") from None
    if existing is not None:
        if existing != request:
            raise ValueError(f"{key} already holds a different request: choose another train id")
        return
    rt.store.put(key, request.model_dump_json(indent=2).encode())


def start_training(rt: Runtime, request: TrainRequest, *, gpu: int | None = None) -> Execution:
    """Write the request and start the execution named ``request.train_id``.

    Locally it runs to the end before returning (status SUCCEEDED or FAILED, the steps in
    ``states_entered``); on AWS it returns at once with status RUNNING. ``gpu`` overrides the
    jobs' GPU count (0: none asked for; None: the task's, see ``gpu_for``).
    """
    write_request(rt, request)
    payload = execution_input(rt.settings, request, gpu=gpu_for(rt, request, gpu))
    return training_workflow(rt).start(request.train_id, payload.model_dump())


def describe_training(rt: Runtime, train_id: str) -> Execution | None:
    return training_workflow(rt).describe(train_id)


def local_log_dir(settings: Settings, train_id: str, step: str = "train") -> Path:
    """Where the local compute writes the step's attempts (``00000.<attempt>.log``)."""
    return settings.home.resolve() / "logs" / job_name(train_id, step)


def training_workflow(rt: Runtime) -> Workflow:
    if rt.settings.backend == "aws":
        from chalicelib.aws import client
        from chalicelib.workflow.stepfunctions import StepFunctionsWorkflow

        if not rt.settings.train_state_machine_arn:
            raise ValueError("NEWSOPS_TRAIN_STATE_MACHINE_ARN is not set: the stack output "
                             "TrainStateMachineArn names the train state machine")
        return StepFunctionsWorkflow(rt.settings.train_state_machine_arn, client("stepfunctions"))
    return _local_workflow(rt)


def _local_workflow(rt: Runtime) -> LocalWorkflow:
    pipeline = rt.workflow
    if not isinstance(pipeline, LocalWorkflow):
        raise TypeError(f"a local runtime without a local workflow ({type(pipeline).__name__})")
    commands: dict[str, list[str]] = getattr(rt.compute, "commands", {})
    dispatcher = EntrypointDispatcher(pipeline.dispatcher,
                                      commands.get(job_definition(rt.settings)) or DEFAULT_COMMAND)
    definition = asl_definition.load(asl_definition.LOCAL_SUBSTITUTIONS,
                                     asl_definition.TRAIN_DEFINITION_PATH)
    return LocalWorkflow(dispatcher, cast(Ledger, _NamespacedLedger(rt.ledger)), definition=definition,
                         retry_interval_scale=rt.settings.retry_interval_scale)


class EntrypointDispatcher(LocalTaskDispatcher):
    """The pipeline's dispatcher, but a Batch ContainerOverrides.Command follows the entrypoint.

    On Batch the override is the container's CMD, which Docker runs after the image's ENTRYPOINT
    (``python -m newsops_batch``); the local compute runs a job's command as the whole argv, so
    the local stand-in of the entrypoint goes in front.
    """

    def __init__(self, inner: LocalTaskDispatcher, entrypoint: list[str]) -> None:
        super().__init__(inner.compute, inner.lambdas, inner.alerts)
        self.entrypoint = list(entrypoint)

    def __call__(self, resource: str, params: Any, ctx: TaskContext) -> Any:
        overrides = (params or {}).get("ContainerOverrides") or {}
        if resource == BATCH_SUBMIT_SYNC and overrides.get("Command") is not None:
            params = {**params, "ContainerOverrides": {
                **overrides, "Command": [*self.entrypoint, *overrides["Command"]]}}
        return super().__call__(resource, params, ctx)


class _NamespacedLedger:
    """The runtime's ledger with training executions under their own namespace.

    Step Functions scopes execution names to a state machine; the local workflow keeps its
    executions in the ledger's "executions" namespace, which the pipeline's runs use.
    """

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    def get_state(self, namespace: str, key: str) -> dict[str, Any] | None:
        return self._ledger.get_state(LOCAL_NAMESPACE + namespace, key)

    def put_state(self, namespace: str, key: str, value: dict[str, Any]) -> None:
        self._ledger.put_state(LOCAL_NAMESPACE + namespace, key, value)

    def __getattr__(self, name: str) -> Any:
        # Anything else the workflow may use of the ledger is the runtime's own.
        return getattr(self._ledger, name)
