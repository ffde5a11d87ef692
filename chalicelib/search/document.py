"""The search document: one per article, merging every task's output (validated at the boundary).

Every backend runs its input through :func:`prepare` first, so a malformed document is reported
with its reason by whichever engine is configured, and all engines store the same shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

FACET_SIZE = 10
SNIPPET_CHARS = 280


class DocumentRejected(Exception):
    """A document that can never be indexed as it is (a permanent failure, with its reason)."""

    def __init__(self, doc_id: str, reason: str) -> None:
        super().__init__(f"{doc_id}: {reason}")
        self.doc_id = doc_id
        self.reason = reason


class Company(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1)
    normalized: str | None = None
    label: str = "ORG"
    start: int | None = None
    end: int | None = None
    score: float | None = Field(default=None, allow_inf_nan=False)


class Category(BaseModel):
    model_config = ConfigDict(extra="ignore")

    label: str = Field(min_length=1)
    score: float | None = Field(default=None, allow_inf_nan=False)


class SearchDocument(BaseModel):
    # Unknown fields are kept (stored, not indexed): feeders may carry their own metadata.
    model_config = ConfigDict(extra="allow")

    # Elasticsearch and OpenSearch refuse ids over 512 bytes; fail here with a clear reason.
    id: str = Field(min_length=1, max_length=512)
    url: str = ""
    title: str = ""
    body: str = ""
    source: str | None = None
    language: str | None = None
    published: datetime | None = None
    run_id: str | None = None
    models: dict[str, str] = Field(default_factory=dict)
    companies: list[Company] = Field(default_factory=list)
    category: Category | None = None

    @field_validator("companies", mode="before")
    @classmethod
    def _none_is_empty(cls, v: Any) -> Any:
        return [] if v is None else v

    @field_validator("models", mode="before")
    @classmethod
    def _versions_as_text(cls, v: Any) -> Any:
        if v is None:
            return {}
        if isinstance(v, Mapping):
            return {str(k): str(val) for k, val in v.items()}
        return v


def iso_utc(value: datetime) -> str:
    """One spelling for every timestamp, so string order is time order (the local engine relies on it)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _describe(err: ValidationError) -> str:
    parts = []
    for e in err.errors()[:5]:
        loc = ".".join(str(p) for p in e["loc"]) or "document"
        parts.append(f"{loc}: {e['msg']}")
    return "invalid document: " + "; ".join(parts)


@dataclass
class PreparedDocument:
    doc: dict[str, Any]  # JSON-ready, without the vector
    vector: np.ndarray | None  # float64, 1-d, finite


def _vector(doc_id: str, value: Any) -> np.ndarray | None:
    # Checked with numpy rather than as list[float] in the model: a 384-float list through
    # pydantic costs more than the rest of the document (this runs 5,000+ times a second).
    if value is None:
        return None
    try:
        vec = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise DocumentRejected(doc_id, "invalid document: embedding: expected a list of numbers") from None
    if vec.ndim != 1 or vec.size == 0:
        raise DocumentRejected(doc_id, "invalid document: embedding: expected a flat, non-empty list of numbers")
    if not np.isfinite(vec).all():
        raise DocumentRejected(doc_id, "invalid document: embedding has a NaN or infinite value")
    return vec


def prepare(raw: Any, position: int) -> PreparedDocument:
    """Validate one input document; raise DocumentRejected (with the reason) if it cannot be indexed.

    ``position`` names a document that has no usable id in the failure report.
    """
    fallback_id = f"<input #{position}>"
    if not isinstance(raw, Mapping):
        raise DocumentRejected(fallback_id, f"invalid document: expected an object, got {type(raw).__name__}")
    raw_id = raw.get("id")
    doc_id = raw_id if isinstance(raw_id, str) and raw_id else fallback_id
    fields = {k: v for k, v in raw.items() if k != "embedding"}
    try:
        doc = SearchDocument.model_validate(fields)
    except ValidationError as e:
        raise DocumentRejected(doc_id, _describe(e)) from None
    vector = _vector(doc_id, raw.get("embedding"))
    out = doc.model_dump(mode="json")
    out["published"] = iso_utc(doc.published) if doc.published else None
    for company in out["companies"]:
        if not company.get("normalized"):
            company["normalized"] = company["name"]
    return PreparedDocument(out, vector)

def snippet(body: str | None) -> str:
    text = " ".join((body or "").split())
    return text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 1].rstrip() + "…"


def hit_from_source(source: dict[str, Any], score: float | None) -> dict[str, Any]:
    """The hit shape every backend returns: the document less its body and vector, plus a snippet."""
    hit = {k: v for k, v in source.items() if k not in ("body", "embedding")}
    hit["snippet"] = snippet(source.get("body"))
    hit["score"] = score
    return hit
