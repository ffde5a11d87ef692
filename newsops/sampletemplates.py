"""The sample generator's text: categories, outlets, company names and sentence templates.

The text lives in ``newsops/sampledata/*.json`` (shipped in the wheel as package data), so
that writers edit prose and names without touching code; this module reads and checks it.

Template grammar, shared by every sentence in ``en.json`` and ``ja.json``:

- ``{A}`` primary company, ``{B}`` second company (leads of two-company stories only),
  ``{X}`` any other company, ``{a}``/``{b}`` short forms in titles, ``{day}`` weekday (en),
  ``{dom}`` day of month (ja); every other ``{name}`` is a number slot
  (``newsops.samplepools``).
- ``[a|b]`` picks one alternative when the pools are built, which multiplies surface
  variety so that two long articles of the same category do not look like near-duplicates
  to a shingle-based deduplicator.
- A story couples title and lead templates so that their direction and numbers agree.

Companies are (full form, short form) pairs: the short form is what later mentions and
titles use; it equals the full form when the name carries no legal suffix. No form of one
company may occur inside a form of another, or ground truth would be ambiguous.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError, field_validator

DATA_PACKAGE = "newsops"
DATA_FOLDER = "sampledata"
LANGUAGES: tuple[str, ...] = ("en", "ja")


@dataclass(frozen=True)
class SourceSite:
    """A fictional outlet; the crawler demo serves one site per host."""

    name: str
    host: str
    language: str
    utc_offset: str = "+00:00"


class SampleDataError(ValueError):
    """A sample data file is missing or does not have the expected shape."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Story(_Frozen):
    titles: tuple[str, ...]
    leads: tuple[str, ...]
    # A two-company story names {B}; it is only drawn when a second company is visible in
    # the body (not reserved for a last-paragraph-only mention).
    two: bool = False


class CategoryText(_Frozen):
    stories: tuple[Story, ...]
    # Sentences on the topic that name no company.
    neutral: tuple[str, ...]
    # More about the primary company, and a mention of another company.
    about_a: tuple[str, ...]
    about_x: tuple[str, ...]


class LanguageText(_Frozen):
    quarters: tuple[str, ...]
    # Market-reaction tails added to a title after repeated title collisions.
    title_tails: tuple[str, ...]
    # Sentences that could appear in any business story; they dilute the category signal
    # the way real wire copy does, so classification is not trivial.
    filler: tuple[str, ...]
    closing: tuple[str, ...]
    # Final-paragraph sentences naming a company ({X}) mentioned nowhere else.
    tail: tuple[str, ...]
    categories: dict[str, CategoryText]


class Companies(_Frozen):
    en: tuple[tuple[str, str], ...]
    ja: tuple[tuple[str, str], ...]
    # Name fragments that make a company a natural subject for a topic.
    sector_hints: dict[str, tuple[str, ...]]

    @field_validator("en", "ja")
    @classmethod
    def _forms_are_unambiguous(cls, pairs: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
        for i, (full, short) in enumerate(pairs):
            if short not in full:
                raise ValueError(f"short form {short!r} is not part of {full!r}")
            for j, other in enumerate(pairs):
                if i != j and any(form in o for form in (full, short) for o in other):
                    raise ValueError(f"a form of {full!r} occurs inside {other[0]!r}")
        return pairs


class _Source(_Frozen):
    name: str
    host: str
    language: str
    utc_offset: str


# The shape of each data file, by file name.
_SHAPES: dict[str, TypeAdapter[Any]] = {
    "categories.json": TypeAdapter(dict[str, str]),
    "sources.json": TypeAdapter(tuple[_Source, ...]),
    "companies.json": TypeAdapter(Companies),
    **{f"{code}.json": TypeAdapter(LanguageText) for code in LANGUAGES},
}


def data_files() -> list[Traversable]:
    """The shipped data files, in a fixed order."""
    folder = resources.files(DATA_PACKAGE).joinpath(DATA_FOLDER)
    return [folder.joinpath(name) for name in _SHAPES]


def load_file(path: Traversable | Path) -> Any:
    """One data file, parsed and checked against the shape its name calls for."""
    shape = _SHAPES.get(path.name)
    if shape is None:
        raise SampleDataError(f"{path.name}: not a sample data file (known: {', '.join(_SHAPES)})")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SampleDataError(f"sample data file {path} is missing") from exc
    except json.JSONDecodeError as exc:
        raise SampleDataError(f"sample data file {path} is not JSON: {exc}") from exc
    try:
        return shape.validate_python(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or '(top)'}: {e['msg']}" for e in exc.errors()
        )
        raise SampleDataError(f"sample data file {path}: {problems}") from exc


def _shipped(name: str) -> Any:
    return load_file(resources.files(DATA_PACKAGE).joinpath(DATA_FOLDER, name))


@cache
def category_descriptions() -> dict[str, str]:
    """Category name to description, in the generator's category order."""
    return dict(_shipped("categories.json"))


@cache
def outlets() -> tuple[SourceSite, ...]:
    return tuple(SourceSite(s.name, s.host, s.language, s.utc_offset) for s in _shipped("sources.json"))


@cache
def companies() -> Companies:
    return _shipped("companies.json")


@cache
def language_text(code: str) -> LanguageText:
    if code not in LANGUAGES:
        raise SampleDataError(f"no sample text for language {code!r}; known: {', '.join(LANGUAGES)}")
    text: LanguageText = _shipped(f"{code}.json")
    missing = [c for c in category_descriptions() if c not in text.categories]
    if missing:
        raise SampleDataError(f"sample data file {code}.json lacks categories {missing}")
    return text
