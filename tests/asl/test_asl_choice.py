"""Choice state: every comparison operator, boolean combinators, Default, errors."""

from __future__ import annotations

import pytest
from asl_support import run

from chalicelib.asl import DefinitionError, StatesError
from chalicelib.asl.choice import COMPARISON_OPERATORS, compile_rule

DATA = {
    "s": "banana",
    "s2": "cherry",
    "n": 10,
    "f": 10.0,
    "n2": 20,
    "b": True,
    "t": "2024-03-14T01:59:00Z",
    "t_offset": "2024-03-14T02:59:00+01:00",
    "t_later": "2024-03-14T01:59:00.5Z",
    "null": None,
    "obj": {"k": 1},
    "weird": "a*b\\c",
    "lower_t": "2024-03-14t01:59:00z",
}

# (operator, Variable, operand, expected)
CASES = [
    ("StringEquals", "$.s", "banana", True),
    ("StringEquals", "$.s", "Banana", False),
    ("StringEquals", "$.n", "10", False),  # wrong type never matches
    ("StringEqualsPath", "$.s", "$.s2", False),
    ("StringLessThan", "$.s", "cherry", True),
    ("StringLessThanPath", "$.s", "$.s2", True),
    ("StringGreaterThan", "$.s", "apple", True),
    ("StringGreaterThanPath", "$.s2", "$.s", True),
    ("StringLessThanEquals", "$.s", "banana", True),
    ("StringLessThanEqualsPath", "$.s2", "$.s", False),
    ("StringGreaterThanEquals", "$.s", "banana", True),
    ("StringGreaterThanEqualsPath", "$.s", "$.s", True),
    ("StringMatches", "$.s", "ban*", True),
    ("StringMatches", "$.s", "*nan*", True),
    ("StringMatches", "$.s", "b*x", False),
    ("StringMatches", "$.weird", "a\\*b\\\\c", True),  # escaped star and backslash
    ("StringMatches", "$.s", "a\\*", False),
    ("NumericEquals", "$.n", 10, True),
    ("NumericEquals", "$.f", 10, True),  # 10.0 == 10
    ("NumericEquals", "$.b", 1, False),  # a boolean is not a number
    ("NumericEquals", "$.s", 10, False),
    ("NumericEqualsPath", "$.n", "$.f", True),
    ("NumericLessThan", "$.n", 10.5, True),
    ("NumericLessThanPath", "$.n", "$.n2", True),
    ("NumericGreaterThan", "$.n", 10, False),
    ("NumericGreaterThanPath", "$.n2", "$.n", True),
    ("NumericLessThanEquals", "$.n", 10, True),
    ("NumericLessThanEqualsPath", "$.n2", "$.n", False),
    ("NumericGreaterThanEquals", "$.n", 10, True),
    ("NumericGreaterThanEqualsPath", "$.n", "$.n2", False),
    ("BooleanEquals", "$.b", True, True),
    ("BooleanEquals", "$.n", True, False),
    ("BooleanEqualsPath", "$.b", "$.b", True),
    ("TimestampEquals", "$.t", "2024-03-14T01:59:00Z", True),
    ("TimestampEquals", "$.t_offset", "2024-03-14T01:59:00Z", True),  # same instant
    ("TimestampEquals", "$.lower_t", "2024-03-14T01:59:00Z", False),  # not a valid timestamp
    ("TimestampEqualsPath", "$.t", "$.t_offset", True),
    ("TimestampLessThan", "$.t", "2024-03-14T01:59:00.1Z", True),
    ("TimestampLessThanPath", "$.t", "$.t_later", True),
    ("TimestampGreaterThan", "$.t_later", "2024-03-14T01:59:00Z", True),
    ("TimestampGreaterThanPath", "$.t", "$.t_later", False),
    ("TimestampLessThanEquals", "$.t", "2024-03-14T01:59:00Z", True),
    ("TimestampLessThanEqualsPath", "$.t_later", "$.t", False),
    ("TimestampGreaterThanEquals", "$.t", "2024-03-14T01:59:00Z", True),
    ("TimestampGreaterThanEqualsPath", "$.t_later", "$.t", True),
    ("IsNull", "$.null", True, True),
    ("IsNull", "$.s", True, False),
    ("IsNull", "$.s", False, True),
    ("IsPresent", "$.null", True, True),
    ("IsPresent", "$.missing", True, False),
    ("IsPresent", "$.missing", False, True),
    ("IsNumeric", "$.f", True, True),
    ("IsNumeric", "$.b", True, False),
    ("IsString", "$.s", True, True),
    ("IsString", "$.obj", True, False),
    ("IsBoolean", "$.b", True, True),
    ("IsBoolean", "$.n", True, False),
    ("IsTimestamp", "$.t_offset", True, True),
    ("IsTimestamp", "$.lower_t", True, False),
    ("IsTimestamp", "$.s", False, True),
]


def check(rule: dict, data=DATA) -> bool:
    return compile_rule({**rule, "Next": "X"}, "test", top_level=True)(data, {})


@pytest.mark.parametrize(("op", "variable", "operand", "expected"), CASES)
def test_comparison_operator(op, variable, operand, expected):
    assert check({"Variable": variable, op: operand}) is expected


def test_every_operator_is_covered():
    assert {case[0] for case in CASES} == COMPARISON_OPERATORS


def test_and_or_not():
    yes = {"Variable": "$.n", "NumericEquals": 10}
    no = {"Variable": "$.s", "StringEquals": "kiwi"}
    assert check({"And": [yes, yes]}) is True
    assert check({"And": [yes, no]}) is False
    assert check({"Or": [no, yes]}) is True
    assert check({"Or": [no, no]}) is False
    assert check({"Not": no}) is True
    assert check({"Not": {"And": [yes, {"Not": no}]}}) is False


def test_and_short_circuits_so_is_present_guards_a_missing_field():
    rule = {
        "And": [
            {"Variable": "$.missing", "IsPresent": True},
            {"Variable": "$.missing", "StringEquals": "x"},
        ]
    }
    assert check(rule) is False


def test_missing_variable_is_a_runtime_error():
    with pytest.raises(StatesError) as info:
        check({"Variable": "$.missing", "StringEquals": "x"})
    assert info.value.error == "States.Runtime"


def test_context_variable():
    rule = {"Variable": "$$.State.Name", "StringEquals": "C", "Next": "X"}
    assert compile_rule(rule, "t", top_level=True)({}, {"State": {"Name": "C"}}) is True


@pytest.mark.parametrize(
    "rule",
    [
        {"Variable": "$.n", "NumericEquals": "10"},
        {"Variable": "$.n", "NumericEquals": True},
        {"Variable": "$.s", "StringEquals": 1},
        {"Variable": "$.t", "TimestampEquals": "yesterday"},
        {"Variable": "$.b", "BooleanEquals": "true"},
        {"Variable": "$.n", "IsNull": 1},
        {"Variable": "$.n", "NumericEquals": 1, "NumericLessThan": 2},
        {"Variable": "$.n", "Bogus": 1},
        {"NumericEquals": 1},
        {"And": []},
        {"Not": {"Variable": "$.n", "IsNull": True, "Next": "X"}},
        {"Variable": "$.n", "StringEqualsPath": "nope"},
    ],
)
def test_invalid_rules_are_definition_errors(rule):
    with pytest.raises(DefinitionError):
        check(rule)


def choice_machine(default: bool = True) -> dict:
    choice: dict = {
        "Type": "Choice",
        "InputPath": "$.in",
        "OutputPath": "$.v",
        "Choices": [
            {"Variable": "$.v", "NumericLessThan": 0, "Next": "Negative"},
            {"Variable": "$.v", "NumericEquals": 0, "Next": "Zero"},
        ],
    }
    states = {
        "C": choice,
        "Negative": {"Type": "Pass", "Result": "negative", "End": True},
        "Zero": {"Type": "Pass", "Result": "zero", "End": True},
    }
    if default:
        choice["Default"] = "Positive"
        states["Positive"] = {"Type": "Pass", "End": True}
    return {"StartAt": "C", "States": states}


def test_choice_state_routes_to_first_matching_rule_and_default():
    assert run(choice_machine(), {"in": {"v": -3}}).output == "negative"
    assert run(choice_machine(), {"in": {"v": 0}}).output == "zero"
    # Default; the Choice output was OutputPath applied to the effective input.
    assert run(choice_machine(), {"in": {"v": 4}}).output == 4


def test_no_match_without_default_fails_with_no_choice_matched():
    result = run(choice_machine(default=False), {"in": {"v": 4}})
    assert (result.status, result.error) == ("FAILED", "States.NoChoiceMatched")
