"""JSONPath input/output processing: paths, payload templates and ResultPath.

Semantics follow AWS (which uses Jayway JsonPath): a *definite* path (only
child names and single indexes, e.g. ``$.a.b[0]``) selects one value and fails
when nothing is there; any other path (wildcards, slices, filters, ``..``)
selects the array of its matches, possibly empty.  A missing definite path is a
``States.Runtime`` error, which no Retrier or Catcher can handle.
"""

from __future__ import annotations

import copy
import functools
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from jsonpath_ng.ext import parse as _jsonpath_parse
from jsonpath_ng.jsonpath import Child, Fields, Index, JSONPath, Root

from . import intrinsics
from .errors import RESULT_PATH_MATCH_FAILURE, RUNTIME, DefinitionError, StatesError

Segment = str | int

# jsonpath-ng builds its parser lazily through ply, which is not thread-safe.
_PARSE_LOCK = threading.Lock()


def dumps(value: Any) -> str:
    """Compact JSON, as AWS renders payloads in causes and history events."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class PathNotFound(Exception):
    def __init__(self, path: Path, data: Any) -> None:
        super().__init__(path.text)
        self.path = path
        self.data = data


@dataclass(frozen=True)
class Path:
    """A compiled JSONPath; ``$$``-prefixed paths read the context object."""

    text: str
    is_context: bool
    expr: JSONPath | None  # None when the path is the root itself
    segments: tuple[Segment, ...] | None  # None unless the path is definite

    @property
    def definite(self) -> bool:
        return self.segments is not None

    def find(self, data: Any, context: Mapping[str, Any]) -> Any:
        target = context if self.is_context else data
        if self.expr is None:
            return target
        try:
            matches = self.expr.find(target)
        except Exception as exc:  # jsonpath-ng raises assorted errors on odd data
            raise StatesError(RUNTIME, f"Cannot evaluate the path '{self.text}': {exc}") from None
        if self.segments is not None:
            if not matches:
                raise PathNotFound(self, target)
            return matches[0].value
        return [match.value for match in matches]

    def bracketed(self) -> str:
        segments = self.segments or ()
        return "$" + "".join(f"[{s}]" if isinstance(s, int) else f"['{s}']" for s in segments)


def _definite_segments(node: JSONPath) -> tuple[Segment, ...] | None:
    if isinstance(node, Root):
        return ()
    if isinstance(node, Child):
        left = _definite_segments(node.left)
        right = _definite_segments(node.right)
        if left is None or right is None:
            return None
        return left + right
    if isinstance(node, Fields) and len(node.fields) == 1 and node.fields[0] != "*":
        return (node.fields[0],)
    if isinstance(node, Index) and len(node.indices) == 1:
        return (node.indices[0],)
    return None


@functools.lru_cache(maxsize=4096)
def compile_path(text: str) -> Path:
    """Compile a path (``$...`` or ``$$...``); raise DefinitionError when invalid."""
    if not isinstance(text, str) or not text.startswith("$"):
        raise DefinitionError(f"{text!r} is not a JSONPath (it must start with '$')")
    is_context = text.startswith("$$")
    expr_text = text[1:] if is_context else text
    if expr_text == "$":
        return Path(text, is_context, None, ())
    try:
        with _PARSE_LOCK:
            expr = _jsonpath_parse(expr_text)
    except Exception as exc:
        raise DefinitionError(f"invalid JSONPath {text!r}: {exc}") from None
    if isinstance(expr, Child) and isinstance(expr.left, Root) and isinstance(expr.right, Root):
        raise DefinitionError(f"invalid JSONPath {text!r}")
    return Path(text, is_context, expr, _definite_segments(expr))


def compile_reference_path(text: str, *, field: str) -> Path:
    """A Reference Path (ResultPath and the like): one node, no wildcards, no ``$$``."""
    path = compile_path(text)
    if path.is_context or not path.definite:
        raise DefinitionError(
            f"{field}: {text!r} is not a reference path (single node, no wildcards or filters)"
        )
    return path


def compile_optional_path(value: Any, *, field: str) -> Path | None:
    """InputPath/OutputPath: absent means ``$``, JSON null means "use {}"."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise DefinitionError(f"{field} must be a string or null")
    try:
        return compile_path(value)
    except DefinitionError as exc:
        raise DefinitionError(f"{field}: {exc}") from None


ROOT = compile_path("$")


def select(path: Path | None, data: Any, context: Mapping[str, Any]) -> Any:
    """Apply an InputPath/OutputPath/ItemsPath-style path; null selects ``{}``."""
    if path is None:
        return {}
    try:
        return path.find(data, context)
    except PathNotFound:
        raise StatesError(
            RUNTIME, f"Invalid path '{path.text}' : No results for path: {path.bracketed()}"
        ) from None


def read_field(path: Path, data: Any, context: Mapping[str, Any], field: str) -> Any:
    """Read the path of a ``field.$`` entry; a miss is reported with the field's name."""
    try:
        return path.find(data, context)
    except PathNotFound as exc:
        raise StatesError(
            RUNTIME,
            f"The JSONPath '{path.text}' specified for the field '{field}' "
            f"could not be found in the input '{dumps(exc.data)}'",
        ) from None


_Evaluator = Callable[[Any, Mapping[str, Any]], Any]


class DynamicValue:
    """The value of a ``.$`` field: a path or an intrinsic function call."""

    def __init__(self, text: str, *, field: str) -> None:
        self.text = text
        self._eval = _compile_dynamic(text, field, field)

    def evaluate(self, data: Any, context: Mapping[str, Any]) -> Any:
        return self._eval(data, context)


class Template:
    """A payload template (Parameters, ItemSelector, ResultSelector)."""

    def __init__(self, value: Any, *, field: str) -> None:
        if not isinstance(value, dict):
            raise DefinitionError(f"{field} must be a JSON object")
        self._eval = _compile_node(value, field)

    def evaluate(self, data: Any, context: Mapping[str, Any]) -> Any:
        return self._eval(data, context)


def _compile_node(value: Any, where: str) -> _Evaluator:
    if isinstance(value, dict):
        entries: list[tuple[str, _Evaluator]] = []
        names: set[str] = set()
        for key, item in value.items():
            if key.endswith(".$"):
                name = key[:-2]
                if not isinstance(item, str):
                    raise DefinitionError(
                        f"{where}.{key}: the value of a '.$' field must be a string"
                    )
                evaluator = _compile_dynamic(item, f"{where}.{key}", key)
            else:
                name = key
                evaluator = _compile_node(item, f"{where}.{key}")
            if name in names:
                raise DefinitionError(f"{where}: field {name!r} is given twice")
            names.add(name)
            entries.append((name, evaluator))

        def build_object(data: Any, context: Mapping[str, Any]) -> dict[str, Any]:
            return {name: evaluator(data, context) for name, evaluator in entries}

        return build_object
    if isinstance(value, list):
        items = [_compile_node(item, f"{where}[{i}]") for i, item in enumerate(value)]

        def build_array(data: Any, context: Mapping[str, Any]) -> list[Any]:
            return [evaluator(data, context) for evaluator in items]

        return build_array

    def literal(_data: Any, _context: Mapping[str, Any]) -> Any:
        return value

    return literal


def _compile_dynamic(text: str, where: str, field: str) -> _Evaluator:
    if intrinsics.is_intrinsic(text):
        try:
            call = intrinsics.parse(text)
            for arg in intrinsics.path_args(call):
                compile_path(arg)
        except DefinitionError as exc:
            raise DefinitionError(f"{where}: {exc}") from None

        def run_call(data: Any, context: Mapping[str, Any]) -> Any:
            def resolve(arg: str) -> Any:
                return read_field(compile_path(arg), data, context, field)

            return intrinsics.evaluate(call, resolve)

        return run_call
    if text.startswith("$"):
        try:
            path = compile_path(text)
        except DefinitionError as exc:
            raise DefinitionError(f"{where}: {exc}") from None

        def run_path(data: Any, context: Mapping[str, Any]) -> Any:
            return read_field(path, data, context, field)

        return run_path
    raise DefinitionError(f"{where}: {text!r} is neither a JSONPath nor an intrinsic function")


def apply_result_path(path: Path | None, raw_input: Any, result: Any) -> Any:
    """Combine a state's result with its raw input as ResultPath says.

    ``None`` (ResultPath: null) discards the result; ``$`` replaces the input;
    a deeper path writes into a copy of the input, creating missing objects.
    """
    if path is None:
        return raw_input
    segments = path.segments or ()
    if not segments:
        return result
    output = copy.deepcopy(raw_input)
    node = output
    for position, segment in enumerate(segments):
        last = position == len(segments) - 1
        if isinstance(segment, str):
            if not isinstance(node, dict):
                break
            if last:
                node[segment] = result
                return output
            node = node.setdefault(segment, {})
        else:
            if not isinstance(node, list) or not -len(node) <= segment < len(node):
                break
            if last:
                node[segment] = result
                return output
            node = node[segment]
    raise StatesError(
        RESULT_PATH_MATCH_FAILURE,
        f"Unable to apply ReferencePath {path.text} to input {dumps(raw_input)}",
    )
