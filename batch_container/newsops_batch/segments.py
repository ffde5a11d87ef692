"""Cutting a text into paragraphs a pipeline accepts, keeping each piece's character offset.

Each paragraph (a line) is its own piece: a name never spans a paragraph break, so the NER must
not see one across it (a title ending in "AI" followed by a body starting "Brightwell Software"
once came out as one organisation). SudachiPy (GiNZA's tokenizer) also refuses inputs over
49,149 bytes: a paragraph longer than ``limit`` characters is cut after a sentence end, else at
a space, else anywhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

_SENTENCE_END = re.compile(r"(?:[。！？!?]|\.(?=\s))\s*")
_LINE = re.compile(r"[^\n]+")


def paragraphs(text: str, limit: int) -> Iterator[tuple[int, str]]:
    """(character offset, piece) for every non-blank line, each at most ``limit`` characters."""
    if limit <= 0:
        raise ValueError("limit must be positive")
    for m in _LINE.finditer(text):
        if m.group().strip():
            yield from _cut(m.group(), m.start(), limit)


def _cut(line: str, base: int, limit: int) -> Iterator[tuple[int, str]]:
    start = 0
    n = len(line)
    while n - start > limit:
        window = line[start:start + limit]
        ends = [m.end() for m in _SENTENCE_END.finditer(window)]
        cut = ends[-1] if ends else window.rfind(" ") + 1
        if cut <= 0:
            cut = limit
        yield base + start, line[start:start + cut]
        start += cut
    if start < n:
        yield base + start, line[start:]
