"""InputPath, Parameters/ResultSelector templates, ResultPath and OutputPath."""

from __future__ import annotations

import re

import pytest
from asl_support import Recorder, chain, run

from chalicelib.asl import DefinitionError, StatesError
from chalicelib.asl.paths import ROOT, Template, apply_result_path, compile_path

ORDER = {
    "order": {"id": "o-1", "items": [{"sku": "a", "qty": 2}, {"sku": "b", "qty": 5}]},
    "detail-type": "created",
    "flag": None,
}


def pass_state(**fields):
    return ("P", {"Type": "Pass", **fields})


def test_input_path_selects_the_subtree_the_state_sees():
    result = run(chain(pass_state(InputPath="$.order.items[1]")), ORDER)
    assert result.status == "SUCCEEDED"
    assert result.output == {"sku": "b", "qty": 5}


def test_null_input_and_output_paths_yield_empty_objects():
    assert run(chain(pass_state(InputPath=None)), ORDER).output == {}
    assert run(chain(pass_state(OutputPath=None)), ORDER).output == {}


def test_output_path_filters_after_result_path():
    definition = chain(pass_state(Result={"ok": True}, ResultPath="$.r", OutputPath="$.r.ok"))
    assert run(definition, {"x": 1}).output is True


def test_parameters_template_is_recursive_and_keeps_literals():
    params = {
        "id.$": "$.order.id",
        "static": {"n": 1, "list": [1, "two", None]},
        "nested": {"first.$": "$.order.items[0].sku", "kind.$": "$.detail-type"},
        "inArray": [{"qty.$": "$.order.items[1].qty"}, "plain"],
        "nothing.$": "$.flag",
    }
    result = run(chain(pass_state(Parameters=params)), ORDER)
    assert result.output == {
        "id": "o-1",
        "static": {"n": 1, "list": [1, "two", None]},
        "nested": {"first": "a", "kind": "created"},
        "inArray": [{"qty": 5}, "plain"],
        "nothing": None,
    }


def test_indefinite_paths_select_arrays_and_definite_ones_single_values():
    params = {
        "skus.$": "$.order.items[*].sku",
        "big.$": "$.order.items[?(@.qty > 3)].sku",
        "none.$": "$.order.items[?(@.qty > 99)]",
        "first.$": "$.order.items[0]",
        "last.$": "$.order.items[-1].sku",
        "whole.$": "$",
    }
    output = run(chain(pass_state(Parameters=params)), ORDER).output
    assert output["skus"] == ["a", "b"]
    assert output["big"] == ["b"]
    assert output["none"] == []
    assert output["first"] == {"sku": "a", "qty": 2}
    assert output["last"] == "b"
    assert output["whole"] == ORDER


def test_context_object_paths():
    params = {
        "name.$": "$$.Execution.Name",
        "id.$": "$$.Execution.Id",
        "input.$": "$$.Execution.Input",
        "state.$": "$$.State.Name",
        "entered.$": "$$.State.EnteredTime",
        "retries.$": "$$.State.RetryCount",
        "machine.$": "$$.StateMachine.Name",
    }
    result = run(
        chain(("Ctx", {"Type": "Pass", "Parameters": params})),
        {"a": 1},
        name="exec-7",
        state_machine_name="Pipeline",
    )
    out = result.output
    assert out["name"] == "exec-7"
    assert out["id"] == "arn:aws:states:us-east-1:123456789012:execution:Pipeline:exec-7"
    assert out["input"] == {"a": 1}
    assert out["state"] == "Ctx"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", out["entered"])
    assert out["retries"] == 0
    assert out["machine"] == "Pipeline"


def test_map_item_context_in_item_selector():
    definition = chain(
        (
            "M",
            {
                "Type": "Map",
                "ItemsPath": "$.order.items",
                "ItemSelector": {
                    "index.$": "$$.Map.Item.Index",
                    "sku.$": "$$.Map.Item.Value.sku",
                    "order.$": "$.order.id",
                },
                "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": True}}},
            },
        )
    )
    assert run(definition, ORDER).output == [
        {"index": 0, "sku": "a", "order": "o-1"},
        {"index": 1, "sku": "b", "order": "o-1"},
    ]


def test_legacy_map_parameters_act_as_item_selector():
    definition = chain(
        (
            "M",
            {
                "Type": "Map",
                "ItemsPath": "$.xs",
                "Parameters": {"v.$": "$$.Map.Item.Value", "k.$": "$.k"},
                "Iterator": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": True}}},
            },
        )
    )
    assert run(definition, {"xs": [1, 2], "k": "z"}).output == [
        {"v": 1, "k": "z"},
        {"v": 2, "k": "z"},
    ]


def test_missing_parameter_path_fails_with_states_runtime_even_with_catch_all():
    definition = chain(
        pass_state(Next="T"),
        (
            "T",
            {
                "Type": "Task",
                "Resource": "arn:t",
                "Parameters": {"x.$": "$.nope"},
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                "End": True,
            },
        ),
        ("Caught", {"Type": "Succeed"}),
    )
    recorder = Recorder()
    result = run(definition, {"a": 1}, recorder)
    assert result.status == "FAILED"
    assert result.error == "States.Runtime"
    assert "'$.nope'" in result.cause and "'x.$'" in result.cause
    assert recorder.calls == []


def test_missing_input_path_fails_with_states_runtime():
    result = run(chain(pass_state(InputPath="$.missing.deep")), {"a": 1})
    assert (result.status, result.error) == ("FAILED", "States.Runtime")
    assert "$.missing.deep" in result.cause


def test_missing_output_path_fails_with_states_runtime():
    result = run(chain(pass_state(OutputPath="$.gone")), {"a": 1})
    assert (result.status, result.error) == ("FAILED", "States.Runtime")


def test_result_selector_shapes_the_task_result():
    definition = chain(
        (
            "T",
            {
                "Type": "Task",
                "Resource": "arn:t",
                "ResultSelector": {"id.$": "$.Payload.id", "fixed": 1},
                "ResultPath": "$.res",
            },
        )
    )
    recorder = Recorder({"arn:t": lambda payload, ctx: {"Payload": {"id": 9, "noise": "x"}}})
    assert run(definition, {"in": 1}, recorder).output == {"in": 1, "res": {"id": 9, "fixed": 1}}


def test_result_path_null_discards_the_result():
    definition = chain(("T", {"Type": "Task", "Resource": "arn:t", "ResultPath": None}))
    recorder = Recorder({"arn:t": lambda payload, ctx: {"big": "result"}})
    assert run(definition, {"keep": 1}, recorder).output == {"keep": 1}


def test_result_path_creates_nested_objects_and_uses_the_raw_input():
    definition = chain(pass_state(InputPath="$.a", Result="R", ResultPath="$.x.y.z"))
    output = run(definition, {"a": {"b": 1}, "x": {"other": 2}}).output
    assert output == {"a": {"b": 1}, "x": {"other": 2, "y": {"z": "R"}}}


def test_result_path_into_a_non_object_is_a_catchable_match_failure():
    definition = chain(
        (
            "T",
            {
                "Type": "Task",
                "Resource": "arn:t",
                "ResultPath": "$.a.b",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
            },
        ),
        ("Caught", {"Type": "Pass", "End": True}),
    )
    result = run(definition, {"a": "string"})
    assert result.status == "SUCCEEDED"
    assert result.output["Error"] == "States.ResultPathMatchFailure"


def test_pass_result_replaces_input_by_default():
    assert run(chain(pass_state(Result={"r": 1})), {"in": 0}).output == {"r": 1}


def test_apply_result_path_units():
    assert apply_result_path(None, {"a": 1}, "r") == {"a": 1}
    assert apply_result_path(ROOT, {"a": 1}, "r") == "r"
    raw = {"list": [{"v": 0}, {"v": 1}]}
    out = apply_result_path(compile_path("$.list[1].v"), raw, 9)
    assert out == {"list": [{"v": 0}, {"v": 9}]}
    assert raw == {"list": [{"v": 0}, {"v": 1}]}, "the raw input must not be mutated"
    with pytest.raises(StatesError) as info:
        apply_result_path(compile_path("$.list[5]"), raw, 9)
    assert info.value.error == "States.ResultPathMatchFailure"


def test_compile_path_definiteness():
    assert compile_path("$.a.b[0]").definite
    assert compile_path("$$.Map.Item.Value").is_context
    assert not compile_path("$.a[*]").definite
    assert not compile_path("$..a").definite
    assert not compile_path("$.a[0:2]").definite


@pytest.mark.parametrize(
    "template",
    [
        {"x.$": "not a path"},
        {"x.$": 5},
        {"x.$": "$.a[[["},
        {"x": 1, "x.$": "$.a"},
        {"x.$": "States.Nope()"},
    ],
)
def test_bad_templates_are_definition_errors(template):
    with pytest.raises(DefinitionError):
        Template(template, field="Parameters")


def test_result_path_must_be_a_reference_path():
    with pytest.raises(DefinitionError):
        run(chain(pass_state(ResultPath="$.a[*]")))
    with pytest.raises(DefinitionError):
        run(chain(pass_state(ResultPath="$$.Execution")))
