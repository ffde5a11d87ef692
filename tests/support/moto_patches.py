"""Narrow patches that let moto 5.2.5 execute ``statemachine/pipeline.asl.json`` as AWS does.

moto's Step Functions interpreter (a port of LocalStack's) has two gaps that the pipeline
runs into; both are fixed here for the tests only, never in the product:

1. **Batch request/response casing.** ``StateTaskService._normalise_parameters`` and
   ``_normalise_response`` are no-ops in moto, so the ``batch:submitJob.sync`` integration
   hands ``JobName``/``JobQueue``/… to botocore, which wants ``jobName``/``jobQueue``
   (every submission fails with ``States.Runtime: 'JobName'``), and the job description
   comes back camelCased where Step Functions returns ``JobId``/``JobName``/``Status``.
   The patch converts both ways with botocore's own Batch model, as LocalStack does.
2. **States.* errors leaving a Map or Parallel.** The iteration/branch failure is re-raised
   as ``CustomErrorName(error)``, whose constructor rejects the ``States.`` prefix, so a
   ``States.TaskFailed`` inside a Map surfaces as an unhandled ``ValueError`` and only
   ``States.ALL`` catches it. The patch builds a ``StatesErrorName`` for those names.

A third, ``atomic_dynamodb_writes``, is no moto bug but a service guarantee moto does not give:
DynamoDB applies a conditional write atomically, moto checks the condition and then writes
without a lock, so two threads can both "win" a claim. The concurrency tests of the run claim
test our use of the condition, not moto's thread scheduling, so they run with writes serialised.
A fourth, ``atomic_batch_jobs``, is the same for moto's Batch job table: ``SubmitJob`` of an
array adds its children one by one to a dict that ``DescribeJobs`` (the ``.sync`` poll of the
other branches) iterates from another thread. Building each item tuple can run the garbage
collector, whose finalizers let the submitting thread in, and the poll fails with
``RuntimeError: dictionary changed size during iteration`` (``States.Runtime`` in the run).
AWS's API has no such race, so the job table is read and written under one lock.

``tests/aws/test_moto_patches.py`` runs unpatched moto under ``xfail(strict=True)``: the day
moto fixes any of these gaps, its test passes, fails the suite, and that patch can go.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any
from unittest import mock

MOTO_VERSION = "5.2.5"  # the version these patches were written against (requirements-dev.txt)


@functools.cache
def _batch_model() -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model("batch")


def _batch_operation(action: str) -> Any:
    from botocore import xform_name

    wanted = xform_name(action) if not action.islower() else action
    model = _batch_model()
    for op in model.operation_names:
        if xform_name(op) == wanted:
            return model.operation_model(op)
    raise KeyError(f"no Batch operation for {action!r}")


def _normalise_parameters(self: Any, parameters: dict, boto_service_name: str | None = None,
                          service_action_name: str | None = None) -> None:
    op = _batch_operation(service_action_name or self.resource.api_action)
    if op.input_shape is not None:
        self._to_boto_request(parameters, op.input_shape)


def _normalise_response(self: Any, response: Any, boto_service_name: str | None = None,
                        service_action_name: str | None = None) -> None:
    op = _batch_operation(service_action_name or self.resource.api_action)
    if op.output_shape is not None:
        self._from_boto_response(response, op.output_shape)


def _error_name(error_name: str | None) -> Any:
    from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import (
        CustomErrorName,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
        StatesErrorName,
    )

    if error_name is not None and error_name.startswith("States."):
        return StatesErrorName.from_name(error_name)
    return CustomErrorName(error_name)


@contextmanager
def _under_one_lock(methods: dict[type, tuple[str, ...]]) -> Iterator[None]:
    """Run the named methods of these classes one call at a time, across all threads."""
    import threading

    lock = threading.RLock()

    def serialised(method: Any) -> Any:
        @functools.wraps(method)
        def call(self: Any, *args: Any, **kwargs: Any) -> Any:
            with lock:
                return method(self, *args, **kwargs)
        return call

    with ExitStack() as stack:
        for cls, names in methods.items():
            for name in names:
                stack.enter_context(mock.patch.object(cls, name, serialised(getattr(cls, name))))
        yield


@contextmanager
def atomic_dynamodb_writes() -> Iterator[None]:
    """Serialise moto's DynamoDB item writes, as the service makes each one atomic."""
    from moto.dynamodb.models import DynamoDBBackend

    with _under_one_lock({DynamoDBBackend: ("put_item", "update_item", "delete_item", "transact_write_items")}):
        yield


@contextmanager
def atomic_batch_jobs() -> Iterator[None]:
    """Serialise moto's Batch job-table reads and writes, as the service's API is atomic per call."""
    from moto.batch.models import BatchBackend
    from moto.batch_simple.models import BatchSimpleBackend

    # The Docker-less backend submits itself and hands every other call to BatchBackend.
    with _under_one_lock({BatchSimpleBackend: ("submit_job",),
                          BatchBackend: ("submit_job", "describe_jobs", "list_jobs", "cancel_job", "terminate_job")}):
        yield


@contextmanager
def patched_moto(*, batch_casing: bool = True, states_errors: bool = True) -> Iterator[None]:
    """Apply the patches for the duration of the block; each can be left out to show its gap."""
    import moto

    if moto.__version__ != MOTO_VERSION:
        raise RuntimeError(
            f"tests/support/moto_patches.py targets moto {MOTO_VERSION}, found {moto.__version__}: "
            "re-check the patches against the new version (and the xfail test that tracks them)"
        )
    try:
        from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import (
            iteration_worker,
        )
        from moto.stepfunctions.parser.asl.component.state.exec.state_parallel import branches_decl
        from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
            state_task_service_batch,
        )
    except ModuleNotFoundError as exc:  # moto's extra "stepfunctions" is not installed
        raise RuntimeError(
            f"moto's Step Functions interpreter needs {exc.name} (antlr4-python3-runtime==4.13.2, "
            "the dependency of moto[stepfunctions]); install requirements-dev.txt") from exc

    batch = state_task_service_batch.StateTaskServiceBatch
    with ExitStack() as stack:
        if batch_casing:
            stack.enter_context(mock.patch.object(batch, "_normalise_parameters", _normalise_parameters))
            stack.enter_context(mock.patch.object(batch, "_normalise_response", _normalise_response))
        if states_errors:
            stack.enter_context(mock.patch.object(iteration_worker, "CustomErrorName", _error_name))
            stack.enter_context(mock.patch.object(branches_decl, "CustomErrorName", _error_name))
        yield
