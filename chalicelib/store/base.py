"""The object-store port: only the operations the pipeline needs, for a directory or S3."""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import IO


class ObjectChanged(Exception):
    """The object at the key is no longer the version a pinned read asked for: it was
    overwritten (another etag) or that version was deleted."""


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    etag: str
    version: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


class ObjectStore(ABC):
    """Keys are the contract of docs/design.md §4; writes are atomic, one writer per key."""

    @abstractmethod
    def put(self, key: str, data: bytes, *, metadata: dict[str, str] | None = None) -> ObjectInfo:
        """Publish ``data`` at ``key`` in one atomic step (a rename, or a single PUT)."""

    @abstractmethod
    def open_write(
        self, key: str, *, metadata: dict[str, str] | None = None
    ) -> AbstractContextManager[IO[bytes]]:
        """Stream a large object; it is published atomically when the context exits cleanly."""

    @abstractmethod
    def open_read(self, key: str, *, etag: str | None = None,
                  version: str | None = None) -> AbstractContextManager[IO[bytes]]:
        """A binary stream of the object (raises KeyError when absent).

        Pinned reads, for a reader that was told which object to read (an event): with
        ``version`` (a versioned bucket's version id) the stream is that version even after an
        overwrite; with ``etag`` the read raises ObjectChanged unless the bytes it streams are
        the object with that etag. Never the bytes of another version under the pinned name.
        """

    @abstractmethod
    def head(self, key: str) -> ObjectInfo | None:
        """Size, etag, version and metadata; None when absent."""

    @abstractmethod
    def list(self, prefix: str) -> Iterator[str]:
        """Keys under ``prefix``, in lexical order."""

    @abstractmethod
    def delete(self, key: str) -> None: ...

    @abstractmethod
    def uri(self, key: str) -> str:
        """The address a person or another tool uses for the object (file://…, s3://…)."""

    def get(self, key: str) -> bytes:
        with self.open_read(key) as f:
            return f.read()

    def exists(self, key: str) -> bool:
        return self.head(key) is not None


def md5_etag(data: bytes) -> str:
    """S3's etag of a single-part upload, which the local store reproduces."""
    return hashlib.md5(data, usedforsecurity=False).hexdigest()
