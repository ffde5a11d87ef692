"""Gzip JSON-lines encoding, streamed: one line in memory at a time."""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterable, Iterator
from typing import IO, Any

import orjson

GZIP_MAGIC = b"\x1f\x8b"


def dumps_line(obj: Any) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_APPEND_NEWLINE | orjson.OPT_SERIALIZE_NUMPY)


def encode(records: Iterable[Any], *, level: int = 6) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=level, mtime=0) as gz:
        for r in records:
            gz.write(dumps_line(r))
    return buf.getvalue()


def iter_lines(stream: IO[bytes]) -> Iterator[bytes]:
    """Raw lines of a gzip stream (raises gzip.BadGzipFile / EOFError on a corrupt input)."""
    with gzip.GzipFile(fileobj=stream, mode="rb") as gz:
        yield from gz


def iter_records(stream: IO[bytes]) -> Iterator[Any]:
    for line in iter_lines(stream):
        if line.strip():
            yield orjson.loads(line)


def decode(data: bytes) -> list[Any]:
    return list(iter_records(io.BytesIO(data)))


def loads_or_text(line: bytes) -> Any:
    """The JSON value of a line, or its text when it is not JSON (kept for quarantine)."""
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        return line.decode("utf-8", errors="replace").rstrip("\n")
