"""The metadata of a result object (``runs/<id>/results/<task>/<n>.jsonl.gz``): one typed model.

The job writes it with the result, in the same atomic put: the result object is the chunk's
completion marker, and its metadata says what it is (how many records, from which chunk bytes,
with which model, image and code) without reading the object. Object metadata is text, so
``to_metadata`` / ``from_metadata`` are the two directions.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class ResultMetaError(ValueError):
    """The metadata of a result object is missing or not what a job writes."""


class ResultMeta(BaseModel):
    # A runner may add its own entries (e.g. the embedding backbone it reused): kept as text.
    model_config = ConfigDict(extra="allow")

    records: int = Field(ge=0)
    quarantined: int = Field(default=0, ge=0)
    input_sha256: str = ""
    model_version: str = ""
    model_uri: str = ""
    model_sha256: str = ""
    packages_sha256: str = ""
    image: str = ""
    code_version: str = ""
    seconds: float = 0.0

    def to_metadata(self) -> dict[str, str]:
        return {k: (f"{v:.3f}" if k == "seconds" else str(v)) for k, v in self.model_dump().items()}

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, str]) -> ResultMeta:
        if "records" not in metadata:
            raise ResultMetaError("carries no record count")
        try:
            return cls.model_validate(dict(metadata))
        except ValidationError as exc:
            fields = ", ".join(".".join(map(str, e["loc"])) for e in exc.errors())
            raise ResultMetaError(f"has invalid metadata ({fields})") from None

    @property
    def accounted(self) -> int:
        """Articles this result accounts for: its records and the ones its task quarantined."""
        return self.records + self.quarantined
