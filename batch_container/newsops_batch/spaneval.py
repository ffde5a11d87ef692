"""Scores of typed spans against labelled text: the one evaluation of every span task.

Training's dev score, ``newsops evaluate``, the demo's comparison with stock GiNZA and the
model card all call :func:`score`, so a figure means the same thing wherever it is printed.

- **Exact**: a predicted span is right when its start, end and type all equal a gold span's.
- **Overlap**: right when it shares at least one character with a gold span of its type; each
  gold span is matched at most once, so splitting one name in two earns one hit, not two.
- **Confusions**: gold type -> predicted type for spans with the same boundaries, plus
  ``(missed)`` for gold spans no prediction overlaps and ``(spurious)`` for the reverse.

Scores are kept per type and per language; ``micro`` pools the types. Pure Python: the CLI
imports it without torch.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

MISSED = "(missed)"
SPURIOUS = "(spurious)"


@dataclass(frozen=True, order=True)
class Span:
    start: int
    end: int
    type: str


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        return 2 * self.tp / (2 * self.tp + self.fp + self.fn) if self.tp else 0.0

    def add(self, other: Counts) -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn

    def as_dict(self) -> dict[str, float | int]:
        return {"precision": round(self.precision, 4), "recall": round(self.recall, 4),
                "f1": round(self.f1, 4), "tp": self.tp, "fp": self.fp, "fn": self.fn}


@dataclass(frozen=True)
class Example:
    """One labelled text and what a model predicted on it."""

    gold: Sequence[Span]
    predicted: Sequence[Span]
    language: str = "ja"


@dataclass
class SpanReport:
    types: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))
    overlap: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))
    languages: dict[str, dict[str, Counts]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(Counts)))
    confusions: dict[str, dict[str, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    texts: int = 0

    def micro(self, table: dict[str, Counts] | None = None) -> Counts:
        total = Counts()
        for counts in (self.types if table is None else table).values():
            total.add(counts)
        return total

    def f1(self, span_type: str) -> float:
        return self.types[span_type].f1 if span_type in self.types else 0.0

    def as_dict(self, model_version: str | None = None) -> dict[str, Any]:
        return {
            "model_version": model_version,
            "texts": self.texts,
            "types": {t: c.as_dict() for t, c in sorted(self.types.items())},
            "micro": self.micro().as_dict(),
            "overlap": {t: c.as_dict() for t, c in sorted(self.overlap.items())},
            "languages": {lang: {"types": {t: c.as_dict() for t, c in sorted(table.items())},
                                 "micro": self.micro(table).as_dict()}
                          for lang, table in sorted(self.languages.items())},
            "confusions": {g: dict(sorted(row.items())) for g, row in sorted(self.confusions.items())},
        }


def score(examples: Iterable[Example], types: Collection[str] | None = None) -> SpanReport:
    """Exact and overlap P/R/F1 per type and language.

    ``types``: the types the model can emit. Gold spans of other types are left out, so a
    company-only model is not charged with missing people and places; ``None`` scores all.
    """
    report = SpanReport()
    for ex in examples:
        report.texts += 1
        gold = {s for s in ex.gold if types is None or s.type in types}
        pred = {s for s in ex.predicted if types is None or s.type in types}
        for t in {s.type for s in gold | pred}:
            g = {s for s in gold if s.type == t}
            p = {s for s in pred if s.type == t}
            exact = Counts(tp=len(g & p), fp=len(p - g), fn=len(g - p))
            report.types[t].add(exact)
            report.languages[ex.language][t].add(exact)
            report.overlap[t].add(_overlap_counts(sorted(g), sorted(p)))
        _confusions(report.confusions, gold, pred)
    return report


def _overlap_counts(gold: list[Span], pred: list[Span]) -> Counts:
    used: set[Span] = set()
    tp = 0
    for p in pred:
        match = next((g for g in gold if g not in used and g.start < p.end and p.start < g.end), None)
        if match is not None:
            used.add(match)
            tp += 1
    return Counts(tp=tp, fp=len(pred) - tp, fn=len(gold) - tp)


def _confusions(table: dict[str, dict[str, int]], gold: set[Span], pred: set[Span]) -> None:
    by_bounds = {(p.start, p.end): p.type for p in pred}
    for g in gold:
        predicted = by_bounds.get((g.start, g.end))
        if predicted is not None and predicted != g.type:
            table[g.type][predicted] += 1
        elif predicted is None and not any(p.start < g.end and g.start < p.end for p in pred):
            table[g.type][MISSED] += 1
    for p in pred:
        if not any(g.start < p.end and p.start < g.end for g in gold):
            table[SPURIOUS][p.type] += 1
