"""Choice Rules: compiled once at load time into predicates over the state's input."""

from __future__ import annotations

import datetime as dt
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import RUNTIME, DefinitionError, StatesError
from .paths import Path, PathNotFound, compile_path

Predicate = Callable[[Any, Mapping[str, Any]], bool]

_MISSING = object()


def is_number(value: Any) -> bool:
    # bool is an int subclass in Python, but not a JSON number.
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# RFC 3339 with the ASL restrictions: an uppercase T between date and time and
# an uppercase Z when there is no numeric offset.
_TIMESTAMP = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})\Z"
)


def parse_timestamp(value: Any) -> dt.datetime | None:
    """An aware datetime for a valid ASL timestamp string, else None."""
    if not isinstance(value, str):
        return None
    match = _TIMESTAMP.match(value)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction, zone = match.group(7), match.group(8)
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    if zone == "Z":
        tz = dt.UTC
    else:
        sign = 1 if zone[0] == "+" else -1
        offset = dt.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
        tz = dt.timezone(sign * offset)
    try:
        return dt.datetime(year, month, day, hour, minute, second, micros, tzinfo=tz)
    except ValueError:
        return None


def _wildcard_regex(pattern: str) -> re.Pattern[str]:
    # Only '*' is special; '\*' and '\\' escape it and the backslash.
    parts: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            parts.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        parts.append(".*" if char == "*" else re.escape(char))
        i += 1
    return re.compile("".join(parts), re.DOTALL)


@dataclass(frozen=True)
class _Kind:
    accepts: Callable[[Any], bool]
    convert: Callable[[Any], Any]


_STRING = _Kind(lambda v: isinstance(v, str), lambda v: v)
_NUMERIC = _Kind(is_number, lambda v: v)
_BOOLEAN = _Kind(lambda v: isinstance(v, bool), lambda v: v)
_TIMESTAMP_KIND = _Kind(lambda v: parse_timestamp(v) is not None, parse_timestamp)

_ORDERINGS: dict[str, Callable[[Any, Any], bool]] = {
    "Equals": operator.eq,
    "LessThan": operator.lt,
    "GreaterThan": operator.gt,
    "LessThanEquals": operator.le,
    "GreaterThanEquals": operator.ge,
}

_BINARY: dict[str, tuple[_Kind, Callable[[Any, Any], bool]]] = {}
for _prefix, _kind in (("String", _STRING), ("Numeric", _NUMERIC), ("Timestamp", _TIMESTAMP_KIND)):
    for _suffix, _compare in _ORDERINGS.items():
        _BINARY[_prefix + _suffix] = (_kind, _compare)
_BINARY["BooleanEquals"] = (_BOOLEAN, operator.eq)

_TYPE_TESTS: dict[str, Callable[[Any], bool]] = {
    "IsNull": lambda v: v is None,
    "IsNumeric": is_number,
    "IsString": lambda v: isinstance(v, str),
    "IsBoolean": lambda v: isinstance(v, bool),
    "IsTimestamp": lambda v: parse_timestamp(v) is not None,
}

COMPARISON_OPERATORS = frozenset(
    set(_BINARY)
    | {name + "Path" for name in _BINARY}
    | set(_TYPE_TESTS)
    | {"IsPresent", "StringMatches"}
)

_RULE_META = frozenset({"Variable", "Next", "Comment"})


def _read_variable(path: Path, data: Any, context: Mapping[str, Any]) -> Any:
    try:
        return path.find(data, context)
    except PathNotFound:
        return _MISSING


def _missing_error(path: Path) -> StatesError:
    return StatesError(
        RUNTIME,
        f"Invalid path '{path.text}': The choice state's condition path references an invalid value.",
    )


def compile_rule(rule: Any, where: str, *, top_level: bool) -> Predicate:
    """Compile one Choice Rule (or a nested rule inside And/Or/Not)."""
    if not isinstance(rule, dict):
        raise DefinitionError(f"{where}: a choice rule must be a JSON object")
    if top_level and not isinstance(rule.get("Next"), str):
        raise DefinitionError(f"{where}: a top-level choice rule needs a 'Next' state name")
    if not top_level and "Next" in rule:
        raise DefinitionError(f"{where}: only top-level choice rules may have 'Next'")

    for name in ("And", "Or"):
        if name in rule:
            _only_fields(rule, {name, "Next", "Comment"}, where)
            children = rule[name]
            if not isinstance(children, list) or not children:
                raise DefinitionError(f"{where}.{name} must be a non-empty array of rules")
            preds = [
                compile_rule(child, f"{where}.{name}[{i}]", top_level=False)
                for i, child in enumerate(children)
            ]
            # Short-circuit like AWS, so IsPresent can guard later comparisons.
            if name == "And":
                return lambda data, ctx: all(pred(data, ctx) for pred in preds)
            return lambda data, ctx: any(pred(data, ctx) for pred in preds)
    if "Not" in rule:
        _only_fields(rule, {"Not", "Next", "Comment"}, where)
        inner = compile_rule(rule["Not"], f"{where}.Not", top_level=False)
        return lambda data, ctx: not inner(data, ctx)

    operators = [key for key in rule if key not in _RULE_META]
    unknown = [key for key in operators if key not in COMPARISON_OPERATORS]
    if unknown:
        raise DefinitionError(f"{where}: unknown comparison operator(s) {unknown}")
    if len(operators) != 1:
        raise DefinitionError(f"{where}: a rule needs exactly one comparison operator")
    if not isinstance(rule.get("Variable"), str):
        raise DefinitionError(f"{where}: a comparison needs a 'Variable' path")
    try:
        variable = compile_path(rule["Variable"])
    except DefinitionError as exc:
        raise DefinitionError(f"{where}.Variable: {exc}") from None
    return _compile_comparison(
        operators[0], rule[operators[0]], variable, f"{where}.{operators[0]}"
    )


def _only_fields(rule: dict[str, Any], allowed: set[str], where: str) -> None:
    extra = sorted(set(rule) - allowed)
    if extra:
        raise DefinitionError(f"{where}: unexpected field(s) {extra}")


def _compile_comparison(name: str, value: Any, variable: Path, where: str) -> Predicate:
    if name == "IsPresent":
        expected = _bool_operand(value, where)
        return lambda data, ctx: (_read_variable(variable, data, ctx) is not _MISSING) == expected

    def read(data: Any, ctx: Mapping[str, Any]) -> Any:
        found = _read_variable(variable, data, ctx)
        if found is _MISSING:
            raise _missing_error(variable)
        return found

    if name in _TYPE_TESTS:
        test = _TYPE_TESTS[name]
        expected = _bool_operand(value, where)
        return lambda data, ctx: test(read(data, ctx)) == expected

    if name == "StringMatches":
        if not isinstance(value, str):
            raise DefinitionError(f"{where} must be a string pattern")
        regex = _wildcard_regex(value)

        def matches(data: Any, ctx: Mapping[str, Any]) -> bool:
            found = read(data, ctx)
            return isinstance(found, str) and regex.fullmatch(found) is not None

        return matches

    if name.endswith("Path"):
        kind, compare = _BINARY[name[: -len("Path")]]
        if not isinstance(value, str):
            raise DefinitionError(f"{where} must be a path string")
        try:
            other = compile_path(value)
        except DefinitionError as exc:
            raise DefinitionError(f"{where}: {exc}") from None

        def compare_path(data: Any, ctx: Mapping[str, Any]) -> bool:
            left = read(data, ctx)
            right = _read_variable(other, data, ctx)
            if right is _MISSING:
                raise _missing_error(other)
            # A value of the wrong type never matches; AWS does not fail on it.
            if not (kind.accepts(left) and kind.accepts(right)):
                return False
            return compare(kind.convert(left), kind.convert(right))

        return compare_path

    kind, compare = _BINARY[name]
    if not kind.accepts(value):
        raise DefinitionError(f"{where}: {value!r} is not a valid operand for {name}")
    operand = kind.convert(value)

    def compare_literal(data: Any, ctx: Mapping[str, Any]) -> bool:
        left = read(data, ctx)
        if not kind.accepts(left):
            return False
        return compare(kind.convert(left), operand)

    return compare_literal


def _bool_operand(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise DefinitionError(f"{where} must be true or false")
    return value
