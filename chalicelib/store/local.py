"""The object store as a directory (the local backend): atomic renames, S3-like etags."""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from chalicelib.store.base import ObjectChanged, ObjectInfo, ObjectStore, md5_etag

Listener = Callable[[ObjectInfo], None]

# Hidden top-level folders: scratch for in-flight writes, and the sidecar metadata.
_TMP = ".tmp"
_META = ".meta"


class LocalObjectStore(ObjectStore):
    def __init__(self, root: Path, *, bucket: str = "local") -> None:
        self.root = Path(root).resolve()
        self.bucket = bucket
        self._listeners: list[tuple[str, Listener]] = []
        (self.root / _TMP).mkdir(parents=True, exist_ok=True)

    def subscribe(self, prefix: str, listener: Listener) -> None:
        """Call ``listener`` after every object published under ``prefix`` (the local trigger)."""
        self._listeners.append((prefix, listener))

    def _path(self, key: str) -> Path:
        if not key or key.startswith("/") or ".." in key.split("/") or key.split("/")[0] in (_TMP, _META):
            raise ValueError(f"invalid object key: {key!r}")
        return self.root / key

    def _meta_path(self, key: str) -> Path:
        return self.root / _META / f"{key}.json"

    def _publish(self, tmp: Path, key: str, etag: str, metadata: dict[str, str] | None) -> ObjectInfo:
        final = self._path(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        meta = self._meta_path(key)
        meta.parent.mkdir(parents=True, exist_ok=True)
        meta_tmp = self.root / _TMP / f"{uuid.uuid4().hex}.meta"
        meta_tmp.write_text(json.dumps({"etag": etag, "metadata": metadata or {}}))
        os.replace(meta_tmp, meta)
        os.replace(tmp, final)
        info = ObjectInfo(key=key, size=final.stat().st_size, etag=etag, metadata=dict(metadata or {}))
        for prefix, listener in self._listeners:
            if key.startswith(prefix):
                listener(info)
        return info

    def _tmp_path(self) -> Path:
        # Unique per writer: pid + random, so parallel jobs never share a scratch name.
        return self.root / _TMP / f"{os.getpid()}-{uuid.uuid4().hex}"

    def put(self, key: str, data: bytes, *, metadata: dict[str, str] | None = None) -> ObjectInfo:
        self._path(key)
        tmp = self._tmp_path()
        # No fsync: the rename alone makes a crashed or killed writer leave nothing behind,
        # which is the guarantee the pipeline needs; power-loss durability is S3's job.
        with open(tmp, "wb") as f:
            f.write(data)
        return self._publish(tmp, key, md5_etag(data), metadata)

    @contextmanager
    def open_write(self, key: str, *, metadata: dict[str, str] | None = None) -> Iterator[IO[bytes]]:
        self._path(key)
        tmp = self._tmp_path()
        digest = hashlib.md5(usedforsecurity=False)
        f = open(tmp, "wb")  # noqa: SIM115 - closed below on every path
        try:
            yield _HashingWriter(f, digest)  # type: ignore[misc]
            f.close()
        except BaseException:
            f.close()
            tmp.unlink(missing_ok=True)
            raise
        self._publish(tmp, key, digest.hexdigest(), metadata)

    @contextmanager
    def open_read(self, key: str, *, etag: str | None = None,
                  version: str | None = None) -> Iterator[IO[bytes]]:
        # A directory keeps one version per key: ``version`` cannot be honoured, the etag can.
        try:
            f = open(self._path(key), "rb")  # noqa: SIM115
        except FileNotFoundError:
            raise KeyError(key) from None
        with f:
            if etag is not None:
                current = self._etag_of_open(key, f)
                if current != etag.strip('"'):
                    raise ObjectChanged(f"{key}: the object was replaced (etag {current}, "
                                        f"not {etag.strip(chr(34))})")
            yield f

    def _etag_of_open(self, key: str, f: IO[bytes]) -> str:
        """The etag of the bytes behind ``f``. The handle is opened first: a publish replaces
        the sidecar before the file, so a sidecar read after the open is as new as the bytes
        or newer. Newer only fails the check: never a wrong pass."""
        try:
            return str(json.loads(self._meta_path(key).read_text())["etag"])
        except (FileNotFoundError, ValueError, KeyError):
            digest = hashlib.md5(usedforsecurity=False)
            while block := f.read(1 << 20):
                digest.update(block)
            f.seek(0)
            return digest.hexdigest()

    def head(self, key: str) -> ObjectInfo | None:
        path = self._path(key)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return None
        try:
            meta: dict[str, Any] = json.loads(self._meta_path(key).read_text())
        except (FileNotFoundError, ValueError):
            # Copied in by hand: no sidecar, so compute what S3 would report.
            meta = {"etag": md5_etag(path.read_bytes()), "metadata": {}}
        return ObjectInfo(key=key, size=size, etag=meta["etag"], metadata=meta.get("metadata", {}))

    def list(self, prefix: str) -> Iterator[str]:
        base = self.root
        keys: list[str] = []
        start = base / prefix.rsplit("/", 1)[0] if "/" in prefix else base
        if not start.exists():
            return iter(())
        for dirpath, dirnames, filenames in os.walk(start):
            if Path(dirpath) == base:
                dirnames[:] = [d for d in dirnames if d not in (_TMP, _META)]
            rel = os.path.relpath(dirpath, base)
            for name in filenames:
                key = name if rel == "." else f"{rel.replace(os.sep, '/')}/{name}"
                if key.startswith(prefix):
                    keys.append(key)
        return iter(sorted(keys))

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)
        self._meta_path(key).unlink(missing_ok=True)

    def uri(self, key: str) -> str:
        return self._path(key).as_uri()


class _HashingWriter:
    """File wrapper that keeps the MD5 (the etag) while the bytes stream through."""

    def __init__(self, f: IO[bytes], digest: Any) -> None:
        self._f = f
        self._digest = digest

    def write(self, data: bytes) -> int:
        self._digest.update(data)
        return self._f.write(data)

    def flush(self) -> None:
        self._f.flush()

    def writable(self) -> bool:
        return True

    def __getattr__(self, name: str) -> Any:
        return getattr(self._f, name)
