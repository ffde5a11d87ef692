"""Small definitions, one or a few ASL constructs each, run on moto and on the local executor.

Every construct the local executor supports appears in at least one case (see COVERAGE).
``${EchoFunctionArn}`` is a moto Lambda that returns its payload; Batch jobs succeed unless the
case sets ``batch_fail`` (moto's MOTO_SIMPLE_BATCH_FAIL_AFTER).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.conformance.harness import BATCH_SYNC, LAMBDA_INVOKE, SNS_PUBLISH, chain


@dataclass(frozen=True)
class Case:
    id: str
    definition: dict[str, Any]
    input: Any
    compare: str = "output"  # "output": status + output; "error": status + error name; "status"
    batch_fail: str | None = None
    attempts: int | None = None  # Task attempts both engines must make (Retry)
    covers: tuple[str, ...] = ()


def P(**fields: Any) -> dict[str, Any]:  # noqa: N802 - reads like the ASL it builds
    return {"Type": "Pass", **fields}


def echo(**fields: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": LAMBDA_INVOKE, **fields}


def submit(job_definition: str = "newsops-fake", **fields: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": BATCH_SYNC,
            "Parameters": {"JobName": "conformance-job", "JobQueue": "${JobQueueArn}",
                           "JobDefinition": job_definition},
            "ResultSelector": {"JobName.$": "$.JobName", "Status.$": "$.Status"}, **fields}


# -- paths, Pass, context object --------------------------------------------------------------
PATHS = Case("paths", chain(
    ("Select", P(InputPath="$.in", Parameters={
        "x.$": "$.a", "const": 1, "nested": {"y.$": "$.b[1]", "list": [1, "two", {"k": None}]},
        "exec.$": "$$.Execution.Name", "machine.$": "$$.StateMachine.Name", "state.$": "$$.State.Name",
        "input.$": "$$.Execution.Input.in.a", "id.$": "$$.Execution.Id"},
        ResultPath="$.selected")),
    ("Deep", P(Result={"r": [1, 2.5, True, None]}, ResultPath="$.deep.er.path")),
    ("Discard", P(Result="ignored", ResultPath=None)),
    ("Replace", P(Parameters={"kept.$": "$.selected", "deep.$": "$.deep", "in.$": "$.in"},
                  ResultPath="$")),
    ("Filter", P(Result={"extra": "x"}, ResultPath="$.added", OutputPath="$.kept")),
    ("Slices", P(Parameters={"last.$": "$.nested.list[-1:]", "first.$": "$.nested.list[0]",
                             "all.$": "$.nested.list[*]", "unicode": "ünï ✓"})),
), {"in": {"a": "alpha", "b": [10, 20, 30]}, "other": True},
    covers=("Pass", "InputPath", "OutputPath", "Parameters", "ResultPath", "ResultPath null", "Result",
            "context object", "Comment"))

# -- intrinsic functions ------------------------------------------------------------------------
INTRINSICS = Case("intrinsics", chain(("All", P(Parameters={
    "format.$": "States.Format('Hello {}, you are {} ({})', $.name, $.n, $.flag)",
    "format_json.$": "States.Format('{}', $.obj)",
    "to_json.$": "States.JsonToString($.obj)",
    "from_json.$": "States.StringToJson($.json)",
    "array.$": "States.Array($.n, 'x', $.obj, true, 3)",
    "partition.$": "States.ArrayPartition($.nums, 2)",
    "contains.$": "States.ArrayContains($.nums, 3)",
    "contains_not.$": "States.ArrayContains($.nums, 99)",
    "range.$": "States.ArrayRange(1, 9, 2)",
    "get_item.$": "States.ArrayGetItem($.nums, 1)",
    "length.$": "States.ArrayLength($.nums)",
    "unique.$": "States.ArrayUnique($.dups)",
    "b64.$": "States.Base64Encode($.name)",
    "b64_decode.$": "States.Base64Decode('aGVsbG8gd29ybGQ=')",
    "md5.$": "States.Hash($.name, 'MD5')",
    "sha1.$": "States.Hash($.name, 'SHA-1')",
    "sha256.$": "States.Hash($.name, 'SHA-256')",
    "sha384.$": "States.Hash($.name, 'SHA-384')",
    "sha512.$": "States.Hash($.name, 'SHA-512')",
    "merge.$": "States.JsonMerge($.a, $.b, false)",
    "add.$": "States.MathAdd($.n, -3)",
    "split.$": "States.StringSplit($.csv, ',')",
    "nested.$": "States.Format('{} items', States.ArrayLength(States.StringSplit($.csv, ',')))",
    "uuid_parts.$": "States.ArrayLength(States.StringSplit(States.UUID(), '-'))",
    "random_is_number.$": "States.MathAdd(States.MathRandom(1, 10), 0)",
    "context.$": "States.Format('{}', $$.Execution.Name)",
}))), {"name": "newsops", "n": 42, "flag": True, "obj": {"k": [1, "v"], "z": None},
       "json": "{\"a\": [1, 2, {\"b\": null}]}", "nums": [1, 2, 3, 4, 5], "dups": [1, 2, 2, 3, 1],
       "a": {"x": 1, "n": {"p": 1}}, "b": {"y": 2, "n": {"q": 2}}, "csv": "a,b,,c"},
    covers=("States.Format", "States.JsonToString", "States.StringToJson", "States.Array",
            "States.ArrayPartition", "States.ArrayContains", "States.ArrayRange", "States.ArrayGetItem",
            "States.ArrayLength", "States.ArrayUnique", "States.Base64Encode", "States.Base64Decode",
            "States.Hash", "States.JsonMerge", "States.MathAdd", "States.StringSplit", "States.UUID",
            "States.MathRandom", "nested intrinsics"))

# -- Choice: every comparison operator, true and false --------------------------------------------
_RULES: list[tuple[str, dict[str, Any], list[dict[str, Any]]]] = [
    # (operator id, rule without Variable-less parts, items: v (and w) making it true, then false)
    ("StringEquals", {"Variable": "$.v", "StringEquals": "abc"}, [{"v": "abc"}, {"v": "abd"}, {"v": 1}]),
    ("StringEqualsPath", {"Variable": "$.v", "StringEqualsPath": "$.w"}, [{"v": "a", "w": "a"}, {"v": "a", "w": "b"}]),
    ("StringLessThan", {"Variable": "$.v", "StringLessThan": "b"}, [{"v": "a"}, {"v": "b"}, {"v": "B"}]),
    ("StringLessThanPath", {"Variable": "$.v", "StringLessThanPath": "$.w"}, [{"v": "a", "w": "b"}, {"v": "c", "w": "b"}]),
    ("StringGreaterThan", {"Variable": "$.v", "StringGreaterThan": "b"}, [{"v": "c"}, {"v": "b"}]),
    ("StringGreaterThanPath", {"Variable": "$.v", "StringGreaterThanPath": "$.w"}, [{"v": "c", "w": "b"}, {"v": "a", "w": "b"}]),
    ("StringLessThanEquals", {"Variable": "$.v", "StringLessThanEquals": "b"}, [{"v": "b"}, {"v": "c"}]),
    ("StringLessThanEqualsPath", {"Variable": "$.v", "StringLessThanEqualsPath": "$.w"}, [{"v": "b", "w": "b"}, {"v": "c", "w": "b"}]),
    ("StringGreaterThanEquals", {"Variable": "$.v", "StringGreaterThanEquals": "b"}, [{"v": "b"}, {"v": "a"}]),
    ("StringGreaterThanEqualsPath", {"Variable": "$.v", "StringGreaterThanEqualsPath": "$.w"}, [{"v": "b", "w": "b"}, {"v": "a", "w": "b"}]),
    ("StringMatches", {"Variable": "$.v", "StringMatches": "log-*.txt"}, [{"v": "log-2026.txt"}, {"v": "log.txt"}, {"v": "LOG-1.txt"}]),
    ("NumericEquals", {"Variable": "$.v", "NumericEquals": 5}, [{"v": 5}, {"v": 5.0}, {"v": 6}, {"v": "5"}]),
    ("NumericEqualsPath", {"Variable": "$.v", "NumericEqualsPath": "$.w"}, [{"v": 5, "w": 5}, {"v": 5, "w": 4}]),
    ("NumericLessThan", {"Variable": "$.v", "NumericLessThan": 1.5}, [{"v": 1}, {"v": 1.5}, {"v": -2}]),
    ("NumericLessThanPath", {"Variable": "$.v", "NumericLessThanPath": "$.w"}, [{"v": 1, "w": 2}, {"v": 3, "w": 2}]),
    ("NumericGreaterThan", {"Variable": "$.v", "NumericGreaterThan": 1}, [{"v": 2}, {"v": 1}]),
    ("NumericGreaterThanPath", {"Variable": "$.v", "NumericGreaterThanPath": "$.w"}, [{"v": 3, "w": 2}, {"v": 1, "w": 2}]),
    ("NumericLessThanEquals", {"Variable": "$.v", "NumericLessThanEquals": 1}, [{"v": 1}, {"v": 2}]),
    ("NumericLessThanEqualsPath", {"Variable": "$.v", "NumericLessThanEqualsPath": "$.w"}, [{"v": 2, "w": 2}, {"v": 3, "w": 2}]),
    ("NumericGreaterThanEquals", {"Variable": "$.v", "NumericGreaterThanEquals": 1}, [{"v": 1}, {"v": 0}]),
    ("NumericGreaterThanEqualsPath", {"Variable": "$.v", "NumericGreaterThanEqualsPath": "$.w"}, [{"v": 2, "w": 2}, {"v": 1, "w": 2}]),
    ("BooleanEquals", {"Variable": "$.v", "BooleanEquals": True}, [{"v": True}, {"v": False}, {"v": 1}]),
    ("BooleanEqualsPath", {"Variable": "$.v", "BooleanEqualsPath": "$.w"}, [{"v": False, "w": False}, {"v": True, "w": False}]),
    ("TimestampEquals", {"Variable": "$.v", "TimestampEquals": "2026-11-27T10:00:00Z"},
     [{"v": "2026-11-27T10:00:00Z"}, {"v": "2026-11-27T10:00:01Z"}]),
    ("TimestampEqualsPath", {"Variable": "$.v", "TimestampEqualsPath": "$.w"},
     [{"v": "2026-11-27T10:00:00Z", "w": "2026-11-27T10:00:00Z"}, {"v": "2026-11-27T10:00:00Z", "w": "2025-01-01T00:00:00Z"}]),
    ("TimestampLessThan", {"Variable": "$.v", "TimestampLessThan": "2026-11-27T10:00:00Z"},
     [{"v": "2026-11-27T09:59:59Z"}, {"v": "2026-11-27T10:00:00Z"}]),
    ("TimestampLessThanPath", {"Variable": "$.v", "TimestampLessThanPath": "$.w"},
     [{"v": "2025-01-01T00:00:00Z", "w": "2026-01-01T00:00:00Z"}, {"v": "2027-01-01T00:00:00Z", "w": "2026-01-01T00:00:00Z"}]),
    ("TimestampGreaterThan", {"Variable": "$.v", "TimestampGreaterThan": "2026-11-27T10:00:00Z"},
     [{"v": "2026-11-28T00:00:00Z"}, {"v": "2026-11-27T10:00:00Z"}]),
    ("TimestampGreaterThanPath", {"Variable": "$.v", "TimestampGreaterThanPath": "$.w"},
     [{"v": "2027-01-01T00:00:00Z", "w": "2026-01-01T00:00:00Z"}, {"v": "2025-01-01T00:00:00Z", "w": "2026-01-01T00:00:00Z"}]),
    ("TimestampLessThanEquals", {"Variable": "$.v", "TimestampLessThanEquals": "2026-11-27T10:00:00Z"},
     [{"v": "2026-11-27T10:00:00Z"}, {"v": "2026-11-27T10:00:01Z"}]),
    ("TimestampLessThanEqualsPath", {"Variable": "$.v", "TimestampLessThanEqualsPath": "$.w"},
     [{"v": "2026-01-01T00:00:00Z", "w": "2026-01-01T00:00:00Z"}, {"v": "2027-01-01T00:00:00Z", "w": "2026-01-01T00:00:00Z"}]),
    ("TimestampGreaterThanEquals", {"Variable": "$.v", "TimestampGreaterThanEquals": "2026-11-27T10:00:00Z"},
     [{"v": "2026-11-27T10:00:00Z"}, {"v": "2026-11-27T09:00:00Z"}]),
    ("TimestampGreaterThanEqualsPath", {"Variable": "$.v", "TimestampGreaterThanEqualsPath": "$.w"},
     [{"v": "2026-01-01T00:00:00Z", "w": "2026-01-01T00:00:00Z"}, {"v": "2025-01-01T00:00:00Z", "w": "2026-01-01T00:00:00Z"}]),
    ("IsNull", {"Variable": "$.v", "IsNull": True}, [{"v": None}, {"v": 0}]),
    ("IsPresent", {"Variable": "$.v", "IsPresent": True}, [{"v": None}, {}]),
    ("IsPresentFalse", {"Variable": "$.v", "IsPresent": False}, [{}, {"v": 1}]),
    ("IsNumeric", {"Variable": "$.v", "IsNumeric": True}, [{"v": 1.5}, {"v": "1.5"}]),
    ("IsString", {"Variable": "$.v", "IsString": True}, [{"v": "x"}, {"v": 1}]),
    ("IsBoolean", {"Variable": "$.v", "IsBoolean": True}, [{"v": False}, {"v": "false"}]),
    ("IsTimestamp", {"Variable": "$.v", "IsTimestamp": True}, [{"v": "2026-11-27T10:00:00Z"}, {"v": "2026-11-27"}]),
    ("And", {"And": [{"Variable": "$.v", "NumericGreaterThan": 1}, {"Variable": "$.v", "NumericLessThan": 5}]},
     [{"v": 3}, {"v": 7}]),
    ("Or", {"Or": [{"Variable": "$.v", "StringEquals": "a"}, {"Variable": "$.v", "StringEquals": "b"}]},
     [{"v": "b"}, {"v": "c"}]),
    ("Not", {"Not": {"Variable": "$.v", "StringEquals": "a"}}, [{"v": "b"}, {"v": "a"}]),
    ("Nested", {"And": [{"Not": {"Variable": "$.v", "IsNull": True}},
                        {"Or": [{"Variable": "$.v", "NumericEquals": 1}, {"Variable": "$.v", "NumericEquals": 2}]}]},
     [{"v": 2}, {"v": None}]),
]


def _choice_case() -> Case:
    rules = [{"And": [{"Variable": "$.op", "StringEquals": op}, rule], "Next": "Yes"} for op, rule, _ in _RULES]
    items = [{"op": op, **item} for op, _, cases in _RULES for item in cases]
    processor = {"StartAt": "Decide", "States": {
        "Decide": {"Type": "Choice", "Choices": rules, "Default": "No"},
        "Yes": P(Parameters={"op.$": "$.op", "matched": True}, End=True),
        "No": P(Parameters={"op.$": "$.op", "matched": False}, End=True)}}
    return Case("choice-operators", chain(("Each", {
        "Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 8,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, **processor}})),
        {"items": items}, covers=("Choice", "Default", "And", "Or", "Not", *(op for op, _, _ in _RULES)))


CHOICE = _choice_case()

CHOICE_NEXT = Case("choice-next", {"StartAt": "Route", "States": {
    "Route": {"Type": "Choice", "Choices": [
        {"Variable": "$.kind", "StringEquals": "a", "Next": "A"},
        {"Variable": "$.kind", "StringEquals": "b", "Next": "B"}], "Default": "Other",
        "InputPath": "$.payload", "OutputPath": "$"},
    "A": P(Result={"went": "a"}, End=True), "B": P(Result={"went": "b"}, End=True),
    "Other": P(Result={"went": "other"}, End=True)}},
    {"payload": {"kind": "b"}}, covers=("Choice Next", "Choice InputPath"))

# -- Map and Parallel -----------------------------------------------------------------------------
MAP = Case("map", chain(
    ("Items", {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 1,
               "ItemSelector": {"v.$": "$$.Map.Item.Value", "i.$": "$$.Map.Item.Index", "tag.$": "$.tag"},
               "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Add", "States": {
                   "Add": P(Parameters={"sum.$": "States.MathAdd($.v, $.i)", "tag.$": "$.tag"}, End=True)}},
               "ResultSelector": {"all.$": "$", "n.$": "States.ArrayLength($)"}, "ResultPath": "$.mapped"}),
    ("Legacy", {"Type": "Map", "ItemsPath": "$.items", "Parameters": {"x.$": "$$.Map.Item.Value"},
                "Iterator": {"StartAt": "Echo", "States": {"Echo": P(End=True)}}, "ResultPath": "$.legacy"}),
    ("Dynamic", {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrencyPath": "$.limit",
                 "ItemProcessor": {"StartAt": "Double", "States": {
                     "Double": P(Parameters={"d.$": "States.MathAdd($, $)"}, End=True)}},
                 "ResultPath": "$.dynamic"}),
    ("Empty", {"Type": "Map", "ItemsPath": "$.none",
               "ItemProcessor": {"StartAt": "X", "States": {"X": P(End=True)}}, "ResultPath": "$.empty"}),
    ("Nested", {"Type": "Map", "ItemsPath": "$.grid", "ResultPath": "$.nested",
                "ItemProcessor": {"StartAt": "Inner", "States": {"Inner": {
                    "Type": "Map", "ItemsPath": "$", "End": True,
                    "ItemSelector": {"cell.$": "$$.Map.Item.Value", "at.$": "$$.Map.Item.Index"},
                    "ItemProcessor": {"StartAt": "Cell", "States": {"Cell": P(End=True)}}}}}}),
    ("Whole", {"Type": "Map", "ItemsPath": "$.items", "ItemProcessor": {"StartAt": "Ctx", "States": {
        "Ctx": P(Parameters={"state.$": "$$.State.Name", "exec.$": "$$.Execution.Name"}, End=True)}},
        "OutputPath": "$[0]"}),
), {"items": [3, 1, 2], "tag": "t", "limit": 2, "none": [], "grid": [[1, 2], [3]]},
    covers=("Map", "ItemsPath", "ItemSelector", "ItemProcessor", "Iterator (legacy)", "Map Parameters (legacy)",
            "MaxConcurrency", "MaxConcurrencyPath", "ResultSelector", "$$.Map.Item", "nested Map"))

PARALLEL = Case("parallel", chain(
    ("Both", {"Type": "Parallel", "Branches": [
        {"StartAt": "L", "States": {"L": P(Parameters={"left.$": "$.x"}, End=True)}},
        {"StartAt": "R1", "States": {"R1": P(Result=2, ResultPath="$.r", Next="R2"),
                                     "R2": P(OutputPath="$.r", End=True)}},
        {"StartAt": "Inner", "States": {"Inner": {"Type": "Parallel", "End": True, "Branches": [
            {"StartAt": "I", "States": {"I": P(Result="deep", End=True)}}]}}}],
        "ResultSelector": {"left.$": "$[0]", "right.$": "$[1]", "deep.$": "$[2][0]"},
        "ResultPath": "$.joined"}),
    ("Params", {"Type": "Parallel", "Parameters": {"only.$": "$.x"}, "Branches": [
        {"StartAt": "E", "States": {"E": P(End=True)}}], "ResultPath": "$.params"}),
), {"x": 1}, covers=("Parallel", "Branches", "nested Parallel", "Parallel Parameters"))

# -- Task forms -----------------------------------------------------------------------------------
TASKS = Case("tasks", chain(
    ("Invoke", echo(Parameters={"FunctionName": "${EchoFunctionArn}", "Payload": {"n.$": "$.n", "k": "v"}},
                    ResultSelector={"payload.$": "$.Payload", "code.$": "$.StatusCode"},
                    ResultPath="$.invoked", TimeoutSeconds=60)),
    ("InvokeInputPath", echo(InputPath="$.invoked.payload",
                             Parameters={"FunctionName": "${EchoFunctionArn}", "Payload.$": "$"},
                             OutputPath="$.Payload")),
    ("Publish", {"Type": "Task", "Resource": SNS_PUBLISH, "ResultPath": None,
                 "Parameters": {"TopicArn": "${AlertsTopicArn}", "Message.$": "States.JsonToString($)"}}),
    ("Submit", submit(ResultPath="$.job", TimeoutSecondsPath="$.timeout")),
), {"n": 7, "timeout": 120}, covers=("Task", "lambda:invoke", "sns:publish", "batch:submitJob.sync",
                                      "TimeoutSeconds", "TimeoutSecondsPath", "Task ResultSelector"))

# -- errors: Fail, Catch, Retry ---------------------------------------------------------------------
FAIL = Case("fail", chain(("Stop", {"Type": "Fail", "Error": "Custom.Stopped", "Cause": "by design"})),
            {}, compare="error", covers=("Fail", "Fail Error", "Fail Cause"))
FAIL_PATHS = Case("fail-paths", chain(("Stop", {"Type": "Fail", "ErrorPath": "$.e", "CausePath": "$.c"})),
                  {"e": "Custom.FromInput", "c": "computed"}, compare="error",
                  covers=("Fail ErrorPath", "Fail CausePath"))


def _boom(error: str) -> dict[str, Any]:
    return {"StartAt": "Boom", "States": {"Boom": {"Type": "Fail", "Error": error, "Cause": "exploded"}}}


CATCH = Case("catch", chain(
    ("First", {"Type": "Parallel", "Branches": [_boom("Custom.Boom")], "Catch": [
        {"ErrorEquals": ["Custom.Other"], "Next": "Unreached"},
        {"ErrorEquals": ["Custom.Boom"], "ResultPath": "$.caught", "Next": "Second"}], "Next": "Unreached"}),
    ("Unreached", P(Result="wrong way", End=True)),
    ("Second", {"Type": "Parallel", "Branches": [_boom("Custom.Again")], "Catch": [
        {"ErrorEquals": ["States.ALL"], "Next": "Third"}], "Next": "Unreached"}),
    ("Third", {"Type": "Map", "ItemsPath": "$.items", "ItemProcessor": _boom("Custom.InMap"),
               "Catch": [{"ErrorEquals": ["Custom.InMap"], "ResultPath": "$.map_error", "Next": "Done"}],
               "Next": "Unreached"}),
    ("Done", P(End=True)),
), {"items": [1]}, covers=("Catch", "Catch ResultPath", "Catch default ResultPath", "States.ALL",
                            "error leaving Parallel", "error leaving Map"))

UNCAUGHT = Case("uncaught-in-map", chain(
    ("Each", {"Type": "Map", "ItemsPath": "$.items", "ItemProcessor": _boom("Custom.Uncaught"),
              "Catch": [{"ErrorEquals": ["Custom.Else"], "Next": "No"}]}),
    # One item: with two, whether the second enters before the first fails is a race on both engines.
    ("No", P(End=True))), {"items": [1]}, compare="error", covers=("unmatched Catch",))

TASK_FAILED = Case("task-failed", chain(
    ("Each", {"Type": "Map", "ItemsPath": "$.items", "ItemProcessor": {"StartAt": "Submit", "States": {
        "Submit": submit(End=True)}},
        "Catch": [{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.error", "Next": "Caught"}]}),
    ("Caught", P(Parameters={"error.$": "$.error.Error"}))), {"items": [1]}, batch_fail="0",
    covers=("States.TaskFailed", "States.* error leaving Map"))

RETRY = Case("retry", chain(
    ("Submit", submit(
        Retry=[{"ErrorEquals": ["States.Timeout"], "MaxAttempts": 3},
               {"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 1, "MaxAttempts": 2, "BackoffRate": 1.0,
                "MaxDelaySeconds": 5, "JitterStrategy": "NONE"}],
        Catch=[{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Caught"}])),
    ("Caught", P(Parameters={"error.$": "$.error.Error", "attempts": "counted from history"}))),
    {}, batch_fail="0", attempts=3, covers=("Retry", "IntervalSeconds", "MaxAttempts", "BackoffRate",
                                            "MaxDelaySeconds", "JitterStrategy", "first matching Retrier"))

NOT_RETRIED = Case("not-retried", chain(
    ("Submit", submit("newsops-missing", Retry=[
        {"ErrorEquals": ["Batch.ServerException", "Batch.TooManyRequestsException"], "MaxAttempts": 5}],
        Catch=[{"ErrorEquals": ["Batch.ClientException"], "ResultPath": "$.error", "Next": "Caught"}])),
    ("Caught", P(Parameters={"error.$": "$.error.Error"}))), {}, attempts=1,
    covers=("Retry not matching", "service error names"))

RETRY_ZERO = Case("retry-zero", chain(
    ("Submit", submit(Retry=[{"ErrorEquals": ["States.ALL"], "MaxAttempts": 0}]))), {}, batch_fail="0",
    compare="error", attempts=1, covers=("MaxAttempts 0",))

# -- Wait, Succeed, execution timeout -------------------------------------------------------------
WAIT = Case("wait", chain(
    ("Seconds", {"Type": "Wait", "Seconds": 1}),
    ("SecondsPath", {"Type": "Wait", "SecondsPath": "$.zero"}),
    ("Timestamp", {"Type": "Wait", "Timestamp": "2020-01-01T00:00:00Z"}),
    ("TimestampPath", {"Type": "Wait", "TimestampPath": "$.past", "OutputPath": "$.keep"}),
), {"zero": 0, "past": "2021-06-01T12:00:00Z", "keep": {"k": 1}},
    covers=("Wait", "Seconds", "SecondsPath", "Timestamp", "TimestampPath"))

SUCCEED = Case("succeed", {"StartAt": "Check", "States": {
    "Check": {"Type": "Choice", "Choices": [{"Variable": "$.done", "BooleanEquals": True, "Next": "Finish"}],
              "Default": "Never"},
    "Finish": {"Type": "Succeed", "InputPath": "$.result", "OutputPath": "$.value"},
    "Never": {"Type": "Fail", "Error": "Custom.Never"}}},
    {"done": True, "result": {"value": [1, 2]}}, covers=("Succeed", "Succeed InputPath/OutputPath"))

EXECUTION_TIMEOUT = Case("execution-timeout", chain(("Long", {"Type": "Wait", "Seconds": 5}), TimeoutSeconds=1),
                         {}, compare="status", covers=("state machine TimeoutSeconds",))

TASK_TIMEOUT = Case("task-timeout", chain(
    ("Submit", submit(TimeoutSeconds=1, Catch=[{"ErrorEquals": ["States.Timeout"], "ResultPath": "$.error",
                                                  "Next": "TimedOut"}])),
    ("TimedOut", P(Parameters={"error.$": "$.error.Error"}))), {}, batch_fail="3",
    covers=("States.Timeout", "Task TimeoutSeconds enforced"))

FANOUT_RETRY = Case("fan-out-retry-and-paths", chain(
    ("Branches", {"Type": "Parallel", "Comment": "retried as a whole", "InputPath": "$.in",
                  "OutputPath": "$.out", "ResultPath": "$.out",
                  "Branches": [_boom("Custom.Flaky")],
                  "Retry": [{"ErrorEquals": ["Custom.Flaky"], "IntervalSeconds": 1, "MaxAttempts": 1}],
                  "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.parallel_error", "Next": "Items"}]}),
    ("Items", {"Type": "Map", "Comment": "retried as a whole", "InputPath": "$.in", "ItemsPath": "$.items",
               "ItemProcessor": _boom("Custom.Flaky"),
               "Retry": [{"ErrorEquals": ["Custom.Flaky"], "IntervalSeconds": 1, "MaxAttempts": 1}],
               "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.map_error", "Next": "Pause"}]}),
    ("Pause", {"Type": "Wait", "Comment": "no wait", "Seconds": 0, "InputPath": "$.map_error"}),
    ("Note", P(Comment="a comment changes nothing")),
    ("Route", {"Type": "Choice", "Comment": "c", "Choices": [
        {"Variable": "$.Error", "StringEquals": "Custom.Flaky", "Next": "Task"}], "Default": "Nope"}),
    ("Task", echo(Comment="c", Parameters={"FunctionName": "${EchoFunctionArn}", "Payload.$": "$"},
                  OutputPath="$.Payload", Next="End")),
    ("Nope", {"Type": "Fail", "Comment": "c", "Error": "Custom.Nope"}),
    ("End", {"Type": "Succeed", "Comment": "c"}),
    Comment="every state may carry a Comment"), {"in": {"items": [1]}},
    covers=("Parallel Retry", "Map Retry", "Comment", "Map/Parallel/Wait InputPath"))

CASES: list[Case] = [FANOUT_RETRY, PATHS, INTRINSICS, CHOICE, CHOICE_NEXT, MAP, PARALLEL, TASKS, FAIL, FAIL_PATHS, CATCH,
                     UNCAUGHT, TASK_FAILED, RETRY, NOT_RETRIED, RETRY_ZERO, WAIT, SUCCEED, EXECUTION_TIMEOUT,
                     TASK_TIMEOUT]
COVERAGE: set[str] = {c for case in CASES for c in case.covers}
