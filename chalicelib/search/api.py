"""The search API's boundary: query parameters in (``GET /search``, ``newsops search``), JSON out.

Parameters arrive as strings; anything unknown or malformed is refused with a message that
names the parameter, so the HTTP handler can answer 400 with it and the CLI can print it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from chalicelib.search.base import SearchQuery, SearchResult

# Elasticsearch's and OpenSearch's default index.max_result_window: deeper pages need search_after.
MAX_WINDOW = 10_000
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class InvalidSearchParams(ValueError):
    """A search request the API refuses; ``str()`` is the message for the user."""


class SearchParams(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    q: str = Field(default="", max_length=500)
    company: str | None = Field(default=None, min_length=1, max_length=200)
    category: str | None = Field(default=None, min_length=1, max_length=200)
    source: str | None = Field(default=None, min_length=1, max_length=200)
    language: str | None = Field(default=None, pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
    run_id: str | None = Field(default=None, min_length=1, max_length=200)
    date_from: date | None = None
    date_to: date | None = None
    similar_to: str | None = Field(default=None, min_length=1, max_length=512)
    size: int = Field(default=10, ge=1, le=100)
    offset: int = Field(default=0, ge=0, le=MAX_WINDOW - 1)
    facets: bool = False
    replays: bool = Field(default=False, description="also return replay runs' results (newsops replay)")

    @field_validator("date_from", "date_to", mode="before")
    @classmethod
    def _calendar_day(cls, v: Any) -> Any:
        # pydantic would also take a Unix timestamp; a day is what the API promises.
        if isinstance(v, str) and not _DAY.match(v):
            raise ValueError("expected a day as YYYY-MM-DD")
        return v

    @model_validator(mode="after")
    def _coherent(self) -> SearchParams:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError("date_from is after date_to")
        if self.offset + self.size > MAX_WINDOW:
            raise ValueError(f"offset + size must be at most {MAX_WINDOW}")
        if self.similar_to and self.q:
            raise ValueError("similar_to finds articles like one article; it cannot be combined with q")
        return self


ALLOWED_PARAMS = tuple(SearchParams.model_fields)
_TEXT_PARAMS = frozenset({"q", "company", "category", "source", "language", "run_id", "similar_to"})


def _message(err: ValidationError) -> str:
    parts = []
    for e in err.errors():
        name = ".".join(str(p) for p in e["loc"])
        msg = e["msg"].removeprefix("Value error, ")
        given = e.get("input")
        if name and isinstance(given, str):
            parts.append(f"{name}: {msg} (got {given[:60]!r})")
        elif name:
            parts.append(f"{name}: {msg}")
        else:
            parts.append(msg)
    return "; ".join(parts)


def parse_search_params(params: Mapping[str, str] | None) -> SearchQuery:
    """A validated SearchQuery from query-string parameters; raises InvalidSearchParams."""
    params = dict(params or {})
    unknown = sorted(set(params) - set(ALLOWED_PARAMS))
    if unknown:
        raise InvalidSearchParams(
            f"unknown parameter{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
            f"allowed: {', '.join(ALLOWED_PARAMS)}"
        )
    # An empty text filter (``?company=``) means "not given", as a browser form sends it; an
    # empty number, flag or day is a mistake and answers 400 like any malformed value.
    given = {k: v for k, v in params.items()
             if v is not None and not (k in _TEXT_PARAMS and str(v).strip() == "")}
    try:
        p = SearchParams.model_validate(given)
    except ValidationError as e:
        raise InvalidSearchParams(_message(e)) from None
    return SearchQuery(
        text=p.q, company=p.company, category=p.category, source=p.source, language=p.language,
        run_id=p.run_id, date_from=p.date_from, date_to=p.date_to, similar_to=p.similar_to,
        size=p.size, offset=p.offset, facets=p.facets, replays=p.replays,
    )


def result_to_json(result: SearchResult) -> dict[str, Any]:
    return {
        "total": result.total,
        "took_ms": round(result.took_ms, 2),
        "hits": result.hits,
        "facets": {
            name: [{"key": key, "count": count} for key, count in buckets]
            for name, buckets in result.facets.items()
        },
    }
