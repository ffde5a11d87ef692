"""Intrinsic functions (``States.Format(...)`` and friends) used in ``.$`` payload values.

The parser is strict where AWS is strict at definition time (unknown function,
wrong argument count, malformed literal) and raises ``DefinitionError``; type
and range problems can only be seen with data, so they surface at run time as
``States.Runtime``, which is what AWS reports for a failing intrinsic.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import random
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import RUNTIME, DefinitionError, StatesError

Resolver = Callable[[str], Any]
"""Reads a path argument (``$...`` or ``$$...``) and returns its value."""


@dataclass(frozen=True)
class Literal:
    value: Any
    # Text between the quotes with escapes intact: States.Format needs to tell
    # an escaped brace from a placeholder.
    raw: str | None = None


@dataclass(frozen=True)
class PathArg:
    text: str


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Arg, ...]
    text: str


Arg = Literal | PathArg | Call


class _Failure(Exception):
    """Raised by a function body for a data problem; becomes States.Runtime."""


# ---------------------------------------------------------------------------
# Parsing


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
_FUNCTION_NAME = re.compile(r"States\.[A-Za-z0-9]+")


def is_intrinsic(text: str) -> bool:
    return text.startswith("States.")


def parse(text: str) -> Call:
    """Parse one intrinsic-function expression; raise DefinitionError when malformed."""
    parser = _Parser(text)
    call = parser.call()
    parser.skip_space()
    if parser.pos != len(text):
        parser.fail("unexpected text after the closing parenthesis")
    return call


def path_args(call: Call) -> Iterator[str]:
    """Every path argument in ``call``, nested calls included (for definition-time checks)."""
    for arg in call.args:
        if isinstance(arg, PathArg):
            yield arg.text
        elif isinstance(arg, Call):
            yield from path_args(arg)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, why: str) -> None:
        raise DefinitionError(
            f"invalid intrinsic function {self.text!r} at offset {self.pos}: {why}"
        )

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def expect(self, char: str) -> None:
        self.skip_space()
        if self.peek() != char:
            self.fail(f"expected {char!r}")
        self.pos += 1

    def call(self) -> Call:
        self.skip_space()
        start = self.pos
        match = _FUNCTION_NAME.match(self.text, self.pos)
        if match is None:
            self.fail("expected a States.* function name")
            raise AssertionError  # unreachable: fail() raises
        name = match.group(0)
        if name not in _FUNCTIONS:
            self.fail(f"unknown intrinsic function {name}")
        self.pos = match.end()
        self.expect("(")
        args: list[Arg] = []
        self.skip_space()
        if self.peek() == ")":
            self.pos += 1
        else:
            while True:
                args.append(self.argument())
                self.skip_space()
                if self.peek() == ",":
                    self.pos += 1
                    continue
                self.expect(")")
                break
        low, high = _FUNCTIONS[name].arity
        if len(args) < low or (high is not None and len(args) > high):
            wanted = str(low) if low == high else f"{low}..{'' if high is None else high}"
            self.fail(f"{name} takes {wanted} arguments, got {len(args)}")
        return Call(name, tuple(args), self.text[start : self.pos].strip())

    def argument(self) -> Arg:
        self.skip_space()
        char = self.peek()
        if char == "'":
            return self.string()
        if char == "$":
            return self.path()
        if self.text.startswith("States.", self.pos):
            return self.call()
        for word, value in (("true", True), ("false", False), ("null", None)):
            if self.text.startswith(word, self.pos) and not self._word_continues(len(word)):
                self.pos += len(word)
                return Literal(value)
        match = _NUMBER.match(self.text, self.pos)
        if match is not None and not self._word_continues(match.end() - self.pos):
            self.pos = match.end()
            number = match.group(0)
            is_float = any(c in number for c in ".eE")
            return Literal(float(number) if is_float else int(number))
        self.fail("expected a string, number, boolean, null, path or function")
        raise AssertionError  # unreachable: fail() raises

    def _word_continues(self, length: int) -> bool:
        nxt = self.text[self.pos + length : self.pos + length + 1]
        return nxt.isalnum() or nxt in ("_", ".")

    def string(self) -> Literal:
        self.pos += 1  # opening quote
        start = self.pos
        chars: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\\":
                if self.pos + 1 >= len(self.text):
                    break
                chars.append(self.text[self.pos + 1])
                self.pos += 2
                continue
            if char == "'":
                raw = self.text[start : self.pos]
                self.pos += 1
                return Literal("".join(chars), raw)
            chars.append(char)
            self.pos += 1
        self.fail("unterminated string literal")
        raise AssertionError  # unreachable: fail() raises

    def path(self) -> PathArg:
        # A path ends at a top-level ',' or ')'; brackets and quotes inside a
        # filter expression such as $.a[?(@.b == 'x,y')] must not end it.
        start = self.pos
        depth = 0
        quote = ""
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if quote:
                if char == "\\":
                    self.pos += 1
                elif char == quote:
                    quote = ""
            elif char in "'\"":
                quote = char
            elif char in "[(":
                depth += 1
            elif char in "])":
                if depth == 0:
                    break
                depth -= 1
            elif char == "," and depth == 0:
                break
            self.pos += 1
        text = self.text[start : self.pos].strip()
        if quote or depth:
            self.fail("unbalanced brackets or quotes in path argument")
        return PathArg(text)


# ---------------------------------------------------------------------------
# Evaluation


def evaluate(call: Call, resolve: Resolver) -> Any:
    """Evaluate ``call``; path arguments are read through ``resolve``."""
    values = [_argument_value(arg, resolve) for arg in call.args]
    try:
        return _FUNCTIONS[call.name].body(call, values)
    except _Failure as exc:
        raise StatesError(
            RUNTIME, f"The function '{call.text}' had the following error: {exc}"
        ) from None


def _argument_value(arg: Arg, resolve: Resolver) -> Any:
    if isinstance(arg, Literal):
        return arg.value
    if isinstance(arg, PathArg):
        return resolve(arg.text)
    return evaluate(arg, resolve)


@dataclass(frozen=True)
class _Function:
    arity: tuple[int, int | None]
    body: Callable[[Call, list[Any]], Any]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _round_half_away(value: float) -> int:
    # AWS runs on the JVM and rounds .5 away from zero; Python rounds half to even.
    return int(math.copysign(math.floor(abs(value) + 0.5), value))


def _integer(value: Any, what: str) -> int:
    if not _is_number(value):
        raise _Failure(f"the {what} must be a number, got {_json(value)}")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _Failure(f"the {what} must be finite, got {value}")
        return _round_half_away(value)
    return int(value)


def _string(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise _Failure(f"the {what} must be a string, got {_json(value)}")
    return value


def _array(value: Any, what: str = "argument") -> list[Any]:
    if not isinstance(value, list):
        raise _Failure(f"the {what} must be an array, got {_json(value)}")
    return value


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _canonical(value: Any) -> str:
    # JSON equality: 1 == 1.0, but true != 1 (Python's == says otherwise).
    def norm(item: Any) -> Any:
        if isinstance(item, float) and item.is_integer():
            return int(item)
        if isinstance(item, dict):
            return {key: norm(val) for key, val in item.items()}
        if isinstance(item, list):
            return [norm(val) for val in item]
        return item

    return json.dumps(norm(value), sort_keys=True, separators=(",", ":"))


def _format_value(value: Any) -> str:
    # Mirrors how AWS (Java) renders non-string arguments of States.Format.
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "[" + ", ".join(_format_value(item) for item in value) + "]"
    if isinstance(value, dict):
        parts = (f"{key}={_format_value(val)}" for key, val in value.items())
        return "{" + ", ".join(parts) + "}"
    return json.dumps(value)


def _fn_format(call: Call, values: list[Any]) -> str:
    first = call.args[0]
    template = first.raw if isinstance(first, Literal) and first.raw is not None else None
    if template is None:
        template = _string(values[0], "format template")
    args = values[1:]
    out: list[str] = []
    used = 0
    i = 0
    while i < len(template):
        char = template[i]
        if char == "\\" and i + 1 < len(template):
            out.append(template[i + 1])
            i += 2
        elif template.startswith("{}", i):
            if used >= len(args):
                raise _Failure("more placeholders than arguments")
            out.append(_format_value(args[used]))
            used += 1
            i += 2
        else:
            out.append(char)
            i += 1
    if used != len(args):
        raise _Failure(f"{len(args)} arguments for {used} placeholders")
    return "".join(out)


def _fn_string_to_json(_call: Call, values: list[Any]) -> Any:
    text = _string(values[0], "argument")
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise _Failure(f"the argument is not valid JSON: {exc}") from None


def _fn_json_to_string(_call: Call, values: list[Any]) -> str:
    return _json(values[0])


def _fn_array(_call: Call, values: list[Any]) -> list[Any]:
    return list(values)


def _fn_array_partition(_call: Call, values: list[Any]) -> list[list[Any]]:
    array = _array(values[0], "first argument")
    size = _integer(values[1], "chunk size")
    if size <= 0:
        raise _Failure(f"the chunk size must be a positive integer, got {size}")
    return [array[i : i + size] for i in range(0, len(array), size)]


def _fn_array_contains(_call: Call, values: list[Any]) -> bool:
    array = _array(values[0], "first argument")
    wanted = _canonical(values[1])
    return any(_canonical(item) == wanted for item in array)


_MAX_RANGE_ITEMS = 1000


def _fn_array_range(_call: Call, values: list[Any]) -> list[int]:
    start = _integer(values[0], "start")
    end = _integer(values[1], "end")
    step = _integer(values[2], "step")
    if step == 0:
        raise _Failure("the step must not be zero")
    count = max(0, (end - start) // step + 1)
    if count > _MAX_RANGE_ITEMS:
        raise _Failure(f"the range has {count} items, more than {_MAX_RANGE_ITEMS}")
    # The end is inclusive in ASL.
    return list(range(start, end + (1 if step > 0 else -1), step))


def _fn_array_get_item(_call: Call, values: list[Any]) -> Any:
    array = _array(values[0], "first argument")
    index = _integer(values[1], "index")
    if not 0 <= index < len(array):
        raise _Failure(f"the index {index} is out of bounds for an array of {len(array)}")
    return array[index]


def _fn_array_length(_call: Call, values: list[Any]) -> int:
    return len(_array(values[0]))


def _fn_array_unique(_call: Call, values: list[Any]) -> list[Any]:
    seen: set[str] = set()
    unique: list[Any] = []
    for item in _array(values[0]):
        key = _canonical(item)
        if key not in seen:
            seen.add(key)
            unique.append(item)
    return unique


_MAX_CODEC_CHARS = 10000


def _fn_base64_encode(_call: Call, values: list[Any]) -> str:
    text = _string(values[0], "argument")
    if len(text) > _MAX_CODEC_CHARS:
        raise _Failure(f"the input is longer than {_MAX_CODEC_CHARS} characters")
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _fn_base64_decode(_call: Call, values: list[Any]) -> str:
    text = _string(values[0], "argument")
    if len(text) > _MAX_CODEC_CHARS:
        raise _Failure(f"the input is longer than {_MAX_CODEC_CHARS} characters")
    try:
        return base64.b64decode(text.encode("ascii"), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeError) as exc:
        raise _Failure(f"the input is not valid base64: {exc}") from None


_HASHES = {
    "MD5": "md5",
    "SHA-1": "sha1",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
}


def _fn_hash(_call: Call, values: list[Any]) -> str:
    data = _string(values[0], "data")
    algorithm = _string(values[1], "algorithm")
    if algorithm not in _HASHES:
        raise _Failure(f"unsupported algorithm {algorithm!r}, use one of {sorted(_HASHES)}")
    if len(data) > _MAX_CODEC_CHARS:
        raise _Failure(f"the input is longer than {_MAX_CODEC_CHARS} characters")
    return hashlib.new(_HASHES[algorithm], data.encode("utf-8")).hexdigest()


def _fn_json_merge(_call: Call, values: list[Any]) -> dict[str, Any]:
    first, second, deep = values
    if not isinstance(first, dict) or not isinstance(second, dict):
        raise _Failure("both values to merge must be JSON objects")
    if not isinstance(deep, bool):
        raise _Failure("the deep-merge flag must be a boolean")
    if deep:
        # AWS supports only the shallow mode.
        raise _Failure("deep merging is not supported; pass false")
    return {**first, **second}


def _fn_math_random(_call: Call, values: list[Any]) -> int:
    start = _integer(values[0], "start")
    end = _integer(values[1], "end")
    if start > end:
        raise _Failure(f"start {start} is greater than end {end}")
    if len(values) == 3:
        return random.Random(_integer(values[2], "seed")).randint(start, end)
    return random.randint(start, end)


_INT32 = (-(2**31), 2**31 - 1)


def _fn_math_add(_call: Call, values: list[Any]) -> int:
    total = 0
    for value, what in zip(values, ("first value", "second value"), strict=True):
        number = _integer(value, what)
        if not _INT32[0] <= number <= _INT32[1]:
            raise _Failure(f"the {what} {number} is outside the 32-bit integer range")
        total += number
    return total


def _fn_string_split(_call: Call, values: list[Any]) -> list[str]:
    text = _string(values[0], "string")
    delimiters = _string(values[1], "delimiter")
    if not delimiters:
        raise _Failure("the delimiter must not be empty")
    # Every character of the second argument is a delimiter on its own.
    pattern = "|".join(re.escape(char) for char in delimiters)
    return [part for part in re.split(pattern, text) if part]


def _fn_uuid(_call: Call, _values: list[Any]) -> str:
    return str(uuid.uuid4())


_FUNCTIONS: dict[str, _Function] = {
    "States.Format": _Function((1, None), _fn_format),
    "States.StringToJson": _Function((1, 1), _fn_string_to_json),
    "States.JsonToString": _Function((1, 1), _fn_json_to_string),
    "States.Array": _Function((0, None), _fn_array),
    "States.ArrayPartition": _Function((2, 2), _fn_array_partition),
    "States.ArrayContains": _Function((2, 2), _fn_array_contains),
    "States.ArrayRange": _Function((3, 3), _fn_array_range),
    "States.ArrayGetItem": _Function((2, 2), _fn_array_get_item),
    "States.ArrayLength": _Function((1, 1), _fn_array_length),
    "States.ArrayUnique": _Function((1, 1), _fn_array_unique),
    "States.Base64Encode": _Function((1, 1), _fn_base64_encode),
    "States.Base64Decode": _Function((1, 1), _fn_base64_decode),
    "States.Hash": _Function((2, 2), _fn_hash),
    "States.JsonMerge": _Function((3, 3), _fn_json_merge),
    "States.MathRandom": _Function((2, 3), _fn_math_random),
    "States.MathAdd": _Function((2, 2), _fn_math_add),
    "States.StringSplit": _Function((2, 2), _fn_string_split),
    "States.UUID": _Function((0, 0), _fn_uuid),
}

FUNCTION_NAMES: Sequence[str] = tuple(sorted(_FUNCTIONS))
