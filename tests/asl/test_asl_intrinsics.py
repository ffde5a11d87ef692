"""Intrinsic functions: parser and every function, directly and through a state."""

from __future__ import annotations

import base64
import hashlib
import uuid

import pytest
from asl_support import chain, run

from chalicelib.asl import DefinitionError, StatesError
from chalicelib.asl.intrinsics import Literal, PathArg, evaluate, parse
from chalicelib.asl.paths import compile_path

DATA = {
    "name": "world",
    "n": 3,
    "nums": [1, 2, 3, 2, 1],
    "obj": {"a": 1, "b": [True, None]},
    "json": '{"k": [1, 2]}',
    "pair": {"x": 1},
}


def call(text: str, data=DATA):
    # Path arguments read the test data the way a payload template would.
    return evaluate(parse(text), lambda path: compile_path(path).find(data, {}))


def test_parser_handles_nesting_literals_and_escapes():
    parsed = parse(
        "States.Format('it\\'s {} \\{x\\} \\\\', States.Array(1, -2.5, true, null), $.a[0])"
    )
    assert parsed.name == "States.Format"
    template, inner, path = parsed.args
    assert isinstance(template, Literal) and template.value == "it's {} {x} \\"
    assert inner.name == "States.Array"
    assert [arg.value for arg in inner.args] == [1, -2.5, True, None]
    assert path == PathArg("$.a[0]")


def test_path_argument_with_filter_containing_commas_and_parens():
    data = {"items": [{"k": "a,b"}, {"k": "c"}]}
    assert call("States.ArrayLength($.items[?(@.k == 'a,b')])", data) == 1


def test_format():
    assert call("States.Format('Hello, {}! n={}', $.name, $.n)") == "Hello, world! n=3"
    assert call("States.Format('braces \\{\\} stay, {} fills', 'x')") == "braces {} stay, x fills"
    assert call("States.Format('{} {} {}', true, null, 1.5)") == "true null 1.5"
    # AWS renders objects and arrays Java-style, not as JSON.
    assert call("States.Format('{}', $.obj)") == "{a=1, b=[true, null]}"


def test_format_placeholder_count_mismatch_is_runtime_error():
    with pytest.raises(StatesError) as info:
        call("States.Format('{} {}', 'only one')")
    assert info.value.error == "States.Runtime"


def test_string_to_json_and_back():
    assert call("States.StringToJson($.json)") == {"k": [1, 2]}
    assert call("States.JsonToString($.obj)") == '{"a":1,"b":[true,null]}'
    assert call("States.StringToJson(States.JsonToString($.obj))") == DATA["obj"]
    with pytest.raises(StatesError):
        call("States.StringToJson('not json')")


def test_array_functions():
    assert call("States.Array('a', $.n, $.pair)") == ["a", 3, {"x": 1}]
    assert call("States.Array()") == []
    assert call("States.ArrayLength($.nums)") == 5
    assert call("States.ArrayRange(1, 9, 2)") == [1, 3, 5, 7, 9]
    assert call("States.ArrayRange(5, 1, -2)") == [5, 3, 1]
    assert call("States.ArrayRange(1, 0, 1)") == []
    assert call("States.ArrayGetItem($.nums, 2)") == 3
    assert call("States.ArrayPartition($.nums, 2)") == [[1, 2], [3, 2], [1]]
    assert call("States.ArrayContains($.nums, 3)") is True
    assert call("States.ArrayContains(States.Array(1), true)") is False
    assert call("States.ArrayUnique($.nums)") == [1, 2, 3]


@pytest.mark.parametrize(
    "text",
    [
        "States.ArrayGetItem($.nums, 5)",
        "States.ArrayGetItem($.name, 0)",
        "States.ArrayLength($.obj)",
        "States.ArrayRange(1, 2, 0)",
        "States.ArrayRange(0, 2000, 1)",
        "States.ArrayPartition($.nums, 0)",
        "States.MathAdd($.name, 1)",
        "States.MathAdd(2147483648, 1)",
        "States.Hash('x', 'SHA-3')",
        "States.JsonMerge($.obj, $.pair, true)",
        "States.Base64Decode('***')",
    ],
)
def test_bad_data_is_a_runtime_error(text):
    with pytest.raises(StatesError) as info:
        call(text)
    assert info.value.error == "States.Runtime"
    assert text in info.value.cause


def test_math():
    assert call("States.MathAdd($.n, -10)") == -7
    assert call("States.MathAdd(1.5, 1)") == 3  # Java rounding: half away from zero
    assert call("States.MathAdd(-1.5, 0)") == -2
    value = call("States.MathRandom(1, 3)")
    assert 1 <= value <= 3
    assert call("States.MathRandom(1, 1000, 7)") == call("States.MathRandom(1, 1000, 7)")


def test_strings_encodings_hash_merge_uuid():
    assert call("States.StringSplit('a,b;;c', ',;')") == ["a", "b", "c"]
    assert call("States.Base64Encode('héllo')") == base64.b64encode("héllo".encode()).decode()
    assert call("States.Base64Decode('aGVsbG8=')") == "hello"
    assert call("States.Hash('abc', 'SHA-256')") == hashlib.sha256(b"abc").hexdigest()
    assert call("States.Hash($.name, 'MD5')") == hashlib.md5(b"world").hexdigest()
    assert call("States.JsonMerge($.obj, States.StringToJson('\\{\"a\": 2\\}'), false)") == {
        "a": 2,
        "b": [True, None],
    }
    assert uuid.UUID(call("States.UUID()")).version == 4


@pytest.mark.parametrize(
    "text",
    [
        "States.Nope(1)",
        "States.Format()",
        "States.ArrayLength(1, 2)",
        "States.UUID(1)",
        "States.Format('unterminated)",
        "States.Array(1,)",
        "States.Array(1) trailing",
        "States.Array(bogus)",
    ],
)
def test_malformed_calls_are_definition_errors(text):
    with pytest.raises(DefinitionError):
        parse(text)


def test_intrinsics_inside_a_state_with_context_paths():
    definition = chain(
        (
            "P",
            {
                "Type": "Pass",
                "Parameters": {
                    "greeting.$": "States.Format('{} from {}', $.name, $$.Execution.Name)",
                    "count.$": "States.ArrayLength(States.ArrayUnique($.nums))",
                },
            },
        )
    )
    result = run(definition, DATA, name="ex-1")
    assert result.output == {"greeting": "world from ex-1", "count": 3}


def test_intrinsic_failure_in_a_state_is_not_caught_by_states_all():
    definition = chain(
        (
            "T",
            {
                "Type": "Task",
                "Resource": "arn:t",
                "Parameters": {"x.$": "States.ArrayGetItem($.nums, 99)"},
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "C"}],
                "End": True,
            },
        ),
        ("C", {"Type": "Succeed"}),
    )
    result = run(definition, DATA)
    assert (result.status, result.error) == ("FAILED", "States.Runtime")
