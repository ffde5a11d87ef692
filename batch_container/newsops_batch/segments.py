"""Cutting a long text into segments a pipeline accepts, keeping each segment's offset.

SudachiPy (GiNZA's tokenizer) refuses inputs over 49,149 bytes, and every NER model sees only
local context anyway: paragraphs are packed greedily into segments of at most ``limit``
characters; a paragraph longer than that is cut after a sentence end, else at a space.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

_SENTENCE_END = re.compile(r"(?:[。！？!?]|\.(?=\s))\s*")


def segments(text: str, limit: int) -> Iterator[tuple[int, str]]:
    """(character offset, segment) pairs that cover ``text`` in order, each <= ``limit`` chars."""
    if limit <= 0:
        raise ValueError("limit must be positive")
    start = 0
    n = len(text)
    while start < n:
        if n - start <= limit:
            yield start, text[start:]
            return
        window = text[start:start + limit]
        cut = window.rfind("\n") + 1
        if cut <= 0:
            ends = [m.end() for m in _SENTENCE_END.finditer(window)]
            cut = ends[-1] if ends else 0
        if cut <= 0:
            cut = window.rfind(" ") + 1
        if cut <= 0:
            cut = limit
        yield start, text[start:start + cut]
        start += cut
