"""Gzip JSON-lines encoding, streamed: one line in memory at a time."""

from __future__ import annotations

import gzip
import io
import zlib
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


class TruncatedGzip(EOFError):
    pass


def iter_gzip_lines(stream: IO[bytes], *, block: int = 1 << 20) -> Iterator[bytes]:
    """Lines of a (multi-member) gzip stream, read in large blocks.

    ``gzip.GzipFile`` reads 8 KiB at a time; large blocks make ingest several times faster.
    Raises ``zlib.error`` on corrupt data and ``TruncatedGzip`` when the stream ends early.
    """
    d = zlib.decompressobj(wbits=31)
    fed = False  # whether the current member has started: its end marker is then due
    tail = b""
    while data := stream.read(block):
        while data:
            fed = True
            out = d.decompress(data)
            if out:
                lines = (tail + out).split(b"\n")
                tail = lines.pop()
                for line in lines:
                    yield line + b"\n"
            if not d.eof:
                break
            # Concatenated members are valid gzip: start the next one on what is left.
            data = d.unused_data
            d = zlib.decompressobj(wbits=31)
            fed = False
    if fed and not d.eof:
        raise TruncatedGzip("gzip stream ends before its end marker (truncated upload?)")
    if tail:
        yield tail


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
