"""Labelled span data: the JSON-lines files ``newsops train`` and ``newsops evaluate`` read.

One line is one text: ``{"text": ..., "entities": [{"span": [start, end], "type": ...}],
"curid": optional group key, "language": optional, default "ja"}`` (data/ner-ja-stockmark/
README.md). Every bad line is reported with its line number and nothing is half-read: a file
either loads whole or raises :class:`LabelledDataError` listing the first problems.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError, model_validator

from newsops_batch.spaneval import Span

_MAX_PROBLEMS = 10


class LabelledDataError(ValueError):
    """A labelled file that cannot be used as it is; the message names the lines."""


class EntityIn(BaseModel):
    span: tuple[int, int]
    type: str = Field(min_length=1, max_length=64)
    name: str | None = None


class LabelledLine(BaseModel):
    text: str = Field(min_length=1)
    entities: list[EntityIn]
    curid: str | int | None = None
    language: str = Field(default="ja", min_length=2, max_length=8)

    @model_validator(mode="after")
    def _spans_fit(self) -> LabelledLine:
        ordered = sorted(self.entities, key=lambda e: e.span)
        for e in ordered:
            start, end = e.span
            if not 0 <= start < end <= len(self.text):
                raise ValueError(f"span {list(e.span)} is outside the text ({len(self.text)} characters)")
            if e.name is not None and self.text[start:end] != e.name:
                raise ValueError(f"span {list(e.span)} is {self.text[start:end]!r}, "
                                 f"not its name {e.name!r}")
        for a, b in zip(ordered, ordered[1:], strict=False):
            if b.span[0] < a.span[1]:
                raise ValueError(f"spans {list(a.span)} and {list(b.span)} overlap")
        return self


@dataclass(frozen=True)
class LabelledText:
    text: str
    spans: tuple[Span, ...]
    group: str
    language: str


@dataclass(frozen=True)
class LabelledSet:
    path: str
    sha256: str
    texts: tuple[LabelledText, ...]

    @property
    def types(self) -> list[str]:
        return sorted({s.type for t in self.texts for s in t.spans})

    def span_count(self, span_type: str | None = None) -> int:
        return sum(1 for t in self.texts for s in t.spans if span_type is None or s.type == span_type)


def load(path: Path | str) -> LabelledSet:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise LabelledDataError(f"cannot read labelled data {path}: {exc.strerror or exc}") from None
    texts: list[LabelledText] = []
    problems: list[str] = []
    try:
        lines = raw.decode("utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise LabelledDataError(f"{path}: not UTF-8 text ({exc})") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = LabelledLine.model_validate(json.loads(line))
        except (json.JSONDecodeError, ValidationError) as exc:
            problems.append(f"line {number}: {_reason(exc)}")
            if len(problems) >= _MAX_PROBLEMS:
                break
            continue
        spans = tuple(sorted(Span(e.span[0], e.span[1], e.type) for e in row.entities))
        group = str(row.curid) if row.curid is not None else f"line-{number}"
        texts.append(LabelledText(text=row.text, spans=spans, group=group, language=row.language))
    if problems:
        raise LabelledDataError(f"{path}: {len(problems)} bad line(s), nothing was used:\n  "
                                + "\n  ".join(problems))
    if not texts:
        raise LabelledDataError(f"{path}: no labelled text in the file")
    return LabelledSet(path=str(path), sha256=hashlib.sha256(raw).hexdigest(), texts=tuple(texts))


def split_by_group(data: LabelledSet, fraction: float) -> tuple[LabelledSet, LabelledSet]:
    """(train, dev): whole groups (``curid``) go to dev when a hash of their key falls under
    ``fraction``, so the split is the same on every machine and for every seed."""
    if not 0.0 < fraction < 1.0:
        raise LabelledDataError(f"--dev-fraction must be between 0 and 1, not {fraction}")
    train: list[LabelledText] = []
    dev: list[LabelledText] = []
    for t in data.texts:
        digest = int(hashlib.sha256(t.group.encode()).hexdigest(), 16)
        (dev if digest % 10_000 < fraction * 10_000 else train).append(t)
    if not train or not dev:
        raise LabelledDataError(f"{data.path}: a dev fraction of {fraction} leaves "
                                f"{len(train)} training and {len(dev)} dev texts")
    return (LabelledSet(f"{data.path}#train", data.sha256, tuple(train)),
            LabelledSet(f"{data.path}#dev", data.sha256, tuple(dev)))


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        return f"{where}: {first.get('msg')}" if where else str(first.get("msg"))
    return f"not JSON ({exc})"


def texts_of(data: LabelledSet) -> Sequence[str]:
    return [t.text for t in data.texts]
