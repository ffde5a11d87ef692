"""Where moto 5.2.5's interpreter and the local executor disagree, AWS decides.

Each case states what Step Functions does (from the ASL specification and the AWS developer
guide), asserts that the local executor does exactly that, and asserts what moto does instead.
The moto half is deliberately strict: when a moto release fixes one of these, its test fails,
and the case moves into cases.py as a plain conformance case. None of these constructs is used
by statemachine/pipeline.asl.json except where said (States.Runtime vs Catch, see below).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.aws.moto_world import World, mocked_aws
from tests.conformance.cases import LAMBDA_INVOKE, P
from tests.conformance.harness import chain, run_local, run_moto

# moto runs a token-wait thread beside every Batch .sync task; when the task ends early (a
# timeout, a failed sibling in a Map) that thread reads its timeout from an unwound stack and
# dies with a TypeError. It changes no outcome; it is moto's noise, not ours.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Exception in thread WaitForTaskToken_SyncTask:pytest.PytestUnhandledThreadExceptionWarning")


@dataclass(frozen=True)
class Difference:
    id: str
    why: str
    definition: dict[str, Any]
    input: Any
    aws: tuple[str, Any]  # (status, output) for SUCCEEDED, (status, error name) otherwise
    moto: tuple[str, Any]  # what moto reports; ("CREATE", message) when it refuses the definition


DIFFERENCES = [
    Difference(
        "context-retry-count", "the context object has State.RetryCount; moto's has no such field",
        chain(("A", P(Parameters={"r.$": "$$.State.RetryCount"}))), {},
        aws=("SUCCEEDED", {"r": 0}), moto=("FAILED", "States.Runtime")),
    Difference(
        "definite-path-through-index", "$.a[0].b is a definite path (a value); moto returns a list",
        chain(("A", P(Parameters={"v.$": "$.a[0].b"}))), {"a": [{"b": 1}]},
        aws=("SUCCEEDED", {"v": 1}), moto=("SUCCEEDED", {"v": [1]})),
    Difference(
        "scalar-output", "an execution output is JSON text; moto returns a bare string unencoded",
        chain(("A", P(Result="done"))), {},
        aws=("SUCCEEDED", "done"), moto=("SUCCEEDED", "<not JSON: done>")),
    Difference(
        "format-escapes", "States.Format honours \\' \\{ \\} escapes; moto truncates the string",
        chain(("A", P(Parameters={"s.$": "States.Format('it\\'s \\{x\\} {}', $.n)"}))), {"n": 1},
        aws=("SUCCEEDED", {"s": "it's {x} 1"}), moto=("SUCCEEDED", {"s": "it\\\\"})),
    Difference(
        "array-null-argument", "States.Array keeps a null argument; moto drops it",
        chain(("A", P(Parameters={"a.$": "States.Array(1, null, 2)"}))), {},
        aws=("SUCCEEDED", {"a": [1, None, 2]}), moto=("SUCCEEDED", {"a": [1, 2]})),
    Difference(
        "float-literal-argument", "intrinsics take float literals; moto refuses the definition",
        chain(("A", P(Parameters={"a.$": "States.Array(1.5)"}))), {},
        aws=("SUCCEEDED", {"a": [1.5]}), moto=("CREATE", "Func_arg_floatContext")),
    Difference(
        "string-matches-escaped-star", "StringMatches treats \\* as a literal star; moto does not",
        {"StartAt": "C", "States": {
            "C": {"Type": "Choice", "Choices": [{"Variable": "$.v", "StringMatches": "a\\*b*", "Next": "Y"}],
                  "Default": "N"},
            "Y": P(Result={"m": True}, End=True), "N": P(Result={"m": False}, End=True)}},
        {"v": "a*bc"}, aws=("SUCCEEDED", {"m": True}), moto=("SUCCEEDED", {"m": False})),
    Difference(
        "no-choice-matched", "a Choice without a match or Default fails with States.NoChoiceMatched",
        {"StartAt": "C", "States": {
            "C": {"Type": "Choice", "Choices": [{"Variable": "$.v", "NumericEquals": 1, "Next": "Y"}]},
            "Y": {"Type": "Succeed"}}},
        {"v": 2}, aws=("FAILED", "States.NoChoiceMatched"), moto=("FAILED", "States.Runtime")),
    Difference(
        "result-path-match-failure", "a ResultPath that cannot be applied is States.ResultPathMatchFailure",
        chain(("A", P(Result=1, ResultPath="$.x.y"))), {"x": "a string"},
        aws=("FAILED", "States.ResultPathMatchFailure"), moto=("FAILED", "States.Runtime")),
    Difference(
        # The one that touches the pipeline: every Task there selects $.Payload.<field> of a
        # Lambda result; a missing field is States.Runtime, which on AWS no Catch catches, so
        # the run would end without Cleanup or alert. moto catches it and runs Cleanup.
        "runtime-not-caught", "States.Runtime is never caught, not even by States.ALL; moto catches it",
        chain(("Invoke", {"Type": "Task", "Resource": LAMBDA_INVOKE,
                          "Parameters": {"FunctionName": "${EchoFunctionArn}", "Payload": {"a": 1}},
                          "ResultSelector": {"x.$": "$.Payload.missing"},
                          "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], "Next": "Done"}),
              ("Done", P(End=True)), ("Caught", P(Result={"caught": True}))),
        {}, aws=("FAILED", "States.Runtime"), moto=("SUCCEEDED", {"caught": True})),
]


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with pytest.MonkeyPatch.context() as mp, mocked_aws(mp):
        w = World.create()
        try:
            yield w
        finally:
            w.stop_all()


def _observed(status: str, output: Any, error: str | None) -> tuple[str, Any]:
    return (status, output) if status == "SUCCEEDED" else (status, error)


@pytest.mark.parametrize("diff", DIFFERENCES, ids=[d.id for d in DIFFERENCES])
def test_local_follows_aws_where_moto_differs(world: World, diff: Difference) -> None:
    machine = re.sub(r"[^A-Za-z0-9_-]", "-", f"diff-{diff.id}")
    local = run_local(world, diff.definition, diff.input, "x", machine=machine)
    assert _observed(local.status, local.output, local.error) == diff.aws, diff.why

    if diff.moto[0] == "CREATE":
        with pytest.raises(Exception, match=diff.moto[1]):
            run_moto(world, diff.definition, diff.input, "x", machine=machine)
        return
    try:
        moto = run_moto(world, diff.definition, diff.input, "x", machine=machine)
        observed = _observed(moto.status, moto.output, moto.error)
    except json.JSONDecodeError as exc:
        observed = ("SUCCEEDED", f"<not JSON: {exc.doc}>")
    assert observed == diff.moto, f"moto changed ({diff.why}): move this case into cases.py"
