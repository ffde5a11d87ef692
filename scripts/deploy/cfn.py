"""CloudFormation YAML in and JSON out, with the short intrinsic tags (``!Ref``, ``!Sub`` ...).

PyYAML (already in the project venv) plus a constructor per tag: enough to read
infra/newsops.yaml without pulling cfn-lint's heavier pins into the project venv.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

_SCALAR_FUNCS = {
    "Ref": "Ref",
    "Condition": "Condition",
    "Base64": "Fn::Base64",
    "GetAZs": "Fn::GetAZs",
    "ImportValue": "Fn::ImportValue",
}
_SEQ_FUNCS = {
    "And": "Fn::And",
    "Equals": "Fn::Equals",
    "If": "Fn::If",
    "Not": "Fn::Not",
    "Or": "Fn::Or",
    "FindInMap": "Fn::FindInMap",
    "Join": "Fn::Join",
    "Select": "Fn::Select",
    "Split": "Fn::Split",
    "Cidr": "Fn::Cidr",
    "Sub": "Fn::Sub",
    "GetAtt": "Fn::GetAtt",
    "Base64": "Fn::Base64",
    "ImportValue": "Fn::ImportValue",
    "Transform": "Fn::Transform",
}


class _Loader(yaml.SafeLoader):
    pass


def _make(tag: str) -> Any:
    def construct(loader: yaml.Loader, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if tag == "GetAtt":
                resource, _, attribute = str(value).partition(".")
                return {"Fn::GetAtt": [resource, attribute]}
            if tag in _SCALAR_FUNCS:
                return {_SCALAR_FUNCS[tag]: value}
            return {_SEQ_FUNCS[tag]: value}
        if isinstance(node, yaml.SequenceNode):
            return {_SEQ_FUNCS.get(tag, _SCALAR_FUNCS.get(tag, tag)): loader.construct_sequence(node, deep=True)}
        return {_SEQ_FUNCS.get(tag, tag): loader.construct_mapping(node, deep=True)}

    return construct


for _tag in {**_SCALAR_FUNCS, **_SEQ_FUNCS}:
    _Loader.add_constructor(f"!{_tag}", _make(_tag))


def load(path: Path) -> dict[str, Any]:
    """A CloudFormation template (YAML with short tags, or JSON) as plain JSON-like data."""
    text = Path(path).read_text(encoding="utf-8")
    data = yaml.load(text, Loader=_Loader)  # noqa: S506 - SafeLoader subclass with CFN tags only
    if not isinstance(data, dict) or "Resources" not in data:
        raise ValueError(f"{path}: not a CloudFormation template (no Resources)")
    # Anchors/aliases share objects: a JSON round trip makes every node independent.
    return json.loads(json.dumps(data))


def dump(template: dict[str, Any], path: Path, *, compact: bool = True) -> int:
    """Write JSON; compact by default (CloudFormation takes 51,200 bytes inline). Returns size."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(template, separators=(",", ":"), sort_keys=False) if compact \
        else json.dumps(template, indent=2)
    path.write_text(text + "\n", encoding="utf-8")
    return len(text.encode()) + 1
