"""Sample articles written as JSON lines, gzip-compressed when the name ends in ``.gz``.

Compression runs on a second thread: zlib releases the GIL, so on a two-core machine
generation and gzip overlap instead of adding up. The bytes are the same on every run
(empty gzip name, zero mtime), so a batch can be regenerated and compared.
"""

from __future__ import annotations

import gzip
import json
import queue
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from newsops.samplegen import SampleArticle

_BATCH = 1000
# Bytes that force escaping inside a JSON string. UTF-8 continuation bytes are >= 0x80,
# so scanning the encoded bytes for these finds exactly the characters that need it.
_JSON_SPECIAL = bytes(range(0x20)) + b'"\\'


def json_str(s: str) -> bytes:
    """``s`` as the UTF-8 inside of a JSON string literal.

    Same bytes as ``json.dumps(s, ensure_ascii=False)[1:-1]``, but the common case
    (nothing to escape except newlines) costs a few C-level passes instead of the json
    module's per-character loop, which alone would eat the benchmark's time budget.
    """
    b = s.encode()
    clean = len(b.translate(None, _JSON_SPECIAL))
    if clean == len(b):
        return b
    if clean + b.count(b"\n") == len(b):
        return b.replace(b"\n", b"\\n")
    return json.dumps(s, ensure_ascii=False)[1:-1].encode()


def _fast_line(line: str, quotes: int) -> bytes | None:
    """UTF-8 JSON for a line built by plain substitution, or None if a value needs
    escaping beyond newlines (the line's own ``quotes`` are the only quotes allowed)."""
    b = line.encode()
    newlines = b.count(b"\n")
    if len(b) - len(b.translate(None, _JSON_SPECIAL)) != quotes + newlines:
        return None
    return b.replace(b"\n", b"\\n") if newlines else b


def _record_line(a: SampleArticle) -> bytes:
    # One encode and one scan for the whole line instead of one per field: the body
    # (2-3 KB) dominates, and generated text never needs escaping beyond newlines.
    line = (
        f'{{"url":"{a.url}","title":"{a.title}","body":"{a.body}",'
        f'"published":"{a.published}","source":"{a.source}","language":"{a.language}"}}'
    )
    fast = _fast_line(line, 24)
    if fast is not None:
        return fast
    return (
        b'{"url":"%b","title":"%b","body":"%b","published":"%b","source":"%b","language":"%b"}'
        % (
            json_str(a.url),
            json_str(a.title),
            json_str(a.body),
            json_str(a.published),
            json_str(a.source),
            json_str(a.language),
        )
    )


def _truth_line(a: SampleArticle) -> bytes:
    names = '","'.join(a.companies)
    listed = f'["{names}"]' if a.companies else "[]"
    line = (
        f'{{"url":"{a.url}","category":"{a.category}","companies":{listed},'
        f'"language":"{a.language}"}}'
    )
    fast = _fast_line(line, 14 + 2 * len(a.companies))
    if fast is not None:
        return fast
    listed_b = b",".join(b'"%b"' % json_str(c) for c in a.companies)
    return b'{"url":"%b","category":"%b","companies":[%b],"language":"%b"}' % (
        json_str(a.url),
        json_str(a.category),
        listed_b,
        json_str(a.language),
    )


class _Sink:
    """One output file, gzip-compressed when its name ends in ``.gz``."""

    def __init__(self, path: Path, compresslevel: int) -> None:
        self.raw = open(path, "wb")  # closed in close(), after the gzip layer
        self.out: IO[bytes] = self.raw
        if path.name.endswith(".gz"):
            # Empty name and zero mtime in the header keep the bytes identical across runs.
            self.out = gzip.GzipFile(
                filename="", mode="wb", fileobj=self.raw, compresslevel=compresslevel, mtime=0
            )

    def close(self) -> None:
        try:
            if self.out is not self.raw:
                self.out.close()
        finally:
            self.raw.close()


def write_jsonl_gz(
    path: Path,
    articles: Iterable[SampleArticle],
    *,
    with_truth_path: Path | None = None,
    compresslevel: int = 1,
) -> int:
    """Write gzip JSON lines of ``record()``; return how many articles were written.

    ``with_truth_path`` gets JSON lines of ``truth()`` in the same order (gzip when its
    name ends in ``.gz``). Output is streamed in batches, so memory stays flat.
    Compression runs on a second thread: zlib releases the GIL, so on a two-core machine
    generating and compressing overlap instead of adding up.
    """
    sinks = [_Sink(Path(path), compresslevel)]
    try:
        if with_truth_path is not None:
            sinks.append(_Sink(Path(with_truth_path), compresslevel))
        return _write(sinks, articles)
    finally:
        for sink in sinks:
            sink.close()


def _write(sinks: list[_Sink], articles: Iterable[SampleArticle]) -> int:
    q: queue.Queue[tuple[bytes, ...] | None] = queue.Queue(maxsize=4)
    failure: list[Exception] = []

    def drain() -> None:
        try:
            while (item := q.get()) is not None:
                for sink, data in zip(sinks, item, strict=True):
                    sink.out.write(data)
        except Exception as exc:  # re-raised in the producing thread
            failure.append(exc)
            while q.get() is not None:
                pass

    writer = threading.Thread(target=drain, name="sample-jsonl-writer", daemon=True)
    writer.start()
    want_truth = len(sinks) > 1
    count = 0
    try:
        recs: list[bytes] = []
        truths: list[bytes] = []
        for a in articles:
            recs.append(_record_line(a))
            if want_truth:
                truths.append(_truth_line(a))
            if len(recs) >= _BATCH:
                count += len(recs)
                q.put(_pack(recs, truths, want_truth))
                recs, truths = [], []
                if failure:
                    break
        if recs and not failure:
            count += len(recs)
            q.put(_pack(recs, truths, want_truth))
    finally:
        q.put(None)
        writer.join()
    if failure:
        raise failure[0]
    return count


def _pack(recs: list[bytes], truths: list[bytes], want_truth: bool) -> tuple[bytes, ...]:
    data = b"\n".join(recs) + b"\n"
    if not want_truth:
        return (data,)
    return data, b"\n".join(truths) + b"\n"
