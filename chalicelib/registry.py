"""The model registry: immutable model versions in the object store, and stage pointers.

Layout (docs/design.md §4)::

    models/<task>/<version>/<files…>          the model's files, never rewritten
    models/<task>/<version>/MANIFEST.json     sha256 + size per file, source, metrics
    models/<task>/stages/<stage>.json         {"version": …, "manifest_sha256": …}

``MANIFEST.json`` is written after every file, so a version whose manifest exists is complete;
its own sha256 names the exact bytes of a model in a run's lineage. Nothing here imports torch:
the Lambdas, the CLI and the batch job share this module.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from chalicelib import keys
from chalicelib.schema import TaskSpec
from chalicelib.store.base import ObjectStore

REGISTRY_SCHEME = "registry:"
STAGES: tuple[str, ...] = ("prod", "staging")
Stage = Literal["prod", "staging"]
MANIFEST_NAME = "MANIFEST.json"
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_TASK = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
_BLOCK = 1 << 20


class RegistryError(Exception):
    """A registry request that cannot succeed as asked (unknown version, bad name, overwrite)."""


class CorruptModel(RegistryError):
    """A model's bytes do not match its manifest: never load it."""


class ModelFile(BaseModel):
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)


class ModelManifest(BaseModel):
    task: str
    version: str
    created: datetime
    source: str = ""
    metrics: dict[str, float] = Field(default_factory=dict)
    # The model card: training data (sha256, rows, licence), base model, hyperparameters, seed,
    # code version, dev metrics, training time. Free-form: each model kind writes its own.
    card: dict[str, Any] = Field(default_factory=dict)
    files: dict[str, ModelFile] = Field(min_length=1)

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files.values())


class StagePointer(BaseModel):
    task: str
    stage: str
    version: str
    manifest_sha256: str
    promoted: datetime
    previous: str | None = None
    reason: str = ""


class ResolvedModel(BaseModel):
    """What a job will load, pinned: the version and the sha256 of its manifest (lineage)."""

    task: str
    version: str
    manifest_sha256: str
    manifest: ModelManifest

    def lineage(self) -> dict[str, str]:
        return {"version": self.version, "sha256": self.manifest_sha256,
                "uri": f"{REGISTRY_SCHEME}{self.task}"}


# -- hashing ---------------------------------------------------------------------------------

def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_BLOCK):
            h.update(block)
    return h.hexdigest()


def _model_files(src: Path) -> Iterator[tuple[str, Path]]:
    """Every regular file under ``src`` as (posix relative path, path); hidden files are skipped
    (``.git``, editor leftovers) because they are never part of a model."""
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if any(part.startswith(".") for part in rel.parts) or not path.is_file():
            continue
        if rel.as_posix() == MANIFEST_NAME:
            continue
        yield rel.as_posix(), path


def verify_dir(directory: Path, manifest: ModelManifest) -> list[str]:
    """Problems found comparing a local copy with its manifest; empty when every byte matches."""
    problems: list[str] = []
    for rel, expected in manifest.files.items():
        path = directory / rel
        if not path.is_file():
            problems.append(f"{rel}: missing")
            continue
        size = path.stat().st_size
        if size != expected.size:
            problems.append(f"{rel}: size {size} != {expected.size} in the manifest")
            continue
        digest = sha256_file(path)
        if digest != expected.sha256:
            problems.append(f"{rel}: sha256 {digest[:12]}… != {expected.sha256[:12]}… in the manifest")
    return problems


# -- names -----------------------------------------------------------------------------------

def _check_names(task: str, version: str | None = None) -> None:
    if not _TASK.match(task):
        raise RegistryError(f"invalid task name {task!r}: lower-case letters, digits, '-' or '_'")
    if version is not None and (not _VERSION.match(version) or version in STAGES
                                or version == "stages"):
        raise RegistryError(f"invalid model version {version!r}: 1-64 of [A-Za-z0-9._-], "
                            f"not a stage name ({', '.join(STAGES)})")


def registry_task(uri: str) -> str | None:
    """The task a ``registry:<task>`` model uri names, else None."""
    return uri.removeprefix(REGISTRY_SCHEME) if uri.startswith(REGISTRY_SCHEME) else None


# -- push / promote / resolve -----------------------------------------------------------------

def push_model(store: ObjectStore, src: Path, *, task: str, version: str, source: str = "",
               metrics: dict[str, float] | None = None, card: dict[str, Any] | None = None,
               now: datetime | None = None) -> ResolvedModel:
    """Upload a model directory as ``models/<task>/<version>/`` (immutable once pushed).

    The manifest goes last: readers treat a version without one as not there, so a push
    that dies half-way never exposes a partial model.
    """
    _check_names(task, version)
    src = Path(src)
    if not src.is_dir():
        raise RegistryError(f"not a directory: {src}")
    if store.exists(keys.model_manifest(task, version)):
        raise RegistryError(f"model {task}/{version} already exists: versions are immutable, "
                            "push a new version")
    files: dict[str, ModelFile] = {}
    prefix = keys.model_prefix(task, version)
    for rel, path in _model_files(src):
        h = hashlib.sha256()
        size = 0
        with open(path, "rb") as f, store.open_write(prefix + rel) as out:
            while block := f.read(_BLOCK):
                h.update(block)
                size += len(block)
                out.write(block)
        files[rel] = ModelFile(sha256=h.hexdigest(), size=size)
    if not files:
        raise RegistryError(f"no model files under {src}")
    manifest = ModelManifest(task=task, version=version, created=now or datetime.now(UTC),
                             source=source or str(src.resolve()), metrics=dict(metrics or {}),
                             card=dict(card or {}), files=files)
    data = manifest.model_dump_json(indent=2).encode()
    store.put(keys.model_manifest(task, version), data)
    return ResolvedModel(task=task, version=version, manifest_sha256=hashlib.sha256(data).hexdigest(),
                         manifest=manifest)


def read_manifest(store: ObjectStore, task: str, version: str) -> tuple[ModelManifest, str]:
    """The manifest of one version and the sha256 of its bytes."""
    _check_names(task, version)
    try:
        data = store.get(keys.model_manifest(task, version))
    except KeyError:
        raise RegistryError(f"no model {task}/{version} in the registry "
                            f"(no {keys.model_manifest(task, version)})") from None
    try:
        manifest = ModelManifest.model_validate_json(data)
    except ValidationError as exc:
        raise CorruptModel(f"manifest of {task}/{version} is invalid: {exc}") from None
    if manifest.task != task or manifest.version != version:
        raise CorruptModel(f"manifest at {task}/{version} describes {manifest.task}/{manifest.version}")
    return manifest, hashlib.sha256(data).hexdigest()


def promote(store: ObjectStore, task: str, version: str, stage: str = "prod", *, reason: str = "",
            now: datetime | None = None) -> StagePointer:
    """Point ``stage`` of ``task`` at ``version`` (which must exist); one atomic put.

    Every promotion is also kept under ``models/<task>/stages/history/`` (who replaced what,
    when and why), so a pointer that moved can always be traced and moved back.
    """
    if stage not in STAGES:
        raise RegistryError(f"unknown stage {stage!r}: one of {', '.join(STAGES)}")
    _manifest, digest = read_manifest(store, task, version)
    previous = stage_pointer(store, task, stage)
    pointer = StagePointer(task=task, stage=stage, version=version, manifest_sha256=digest,
                           promoted=now or datetime.now(UTC),
                           previous=previous.version if previous else None, reason=reason)
    data = pointer.model_dump_json(indent=2).encode()
    store.put(f"models/{task}/stages/history/{pointer.promoted:%Y%m%dT%H%M%S.%f}-{stage}.json", data)
    store.put(keys.model_stage(task, stage), data)
    return pointer


def stage_pointer(store: ObjectStore, task: str, stage: str) -> StagePointer | None:
    try:
        return StagePointer.model_validate_json(store.get(keys.model_stage(task, stage)))
    except KeyError:
        return None


def resolve(store: ObjectStore, task: str, ref: str = "prod") -> ResolvedModel:
    """A stage name (``prod``, ``staging``) or an exact version -> the pinned model."""
    pointer = stage_pointer(store, task, ref) if ref in STAGES else None
    if ref in STAGES and pointer is None:
        raise RegistryError(f"no {ref!r} model for task {task!r}: "
                            f"run `newsops model promote {task} VERSION --stage {ref}`")
    version = pointer.version if pointer else ref
    manifest, digest = read_manifest(store, task, version)
    if pointer is not None and digest != pointer.manifest_sha256:
        raise CorruptModel(f"manifest of {task}/{version} changed after it was promoted to {ref} "
                           f"({digest[:12]}… != {pointer.manifest_sha256[:12]}…)")
    return ResolvedModel(task=task, version=version, manifest_sha256=digest, manifest=manifest)


def list_versions(store: ObjectStore, task: str) -> list[str]:
    _check_names(task)
    prefix = f"models/{task}/"
    versions = {k[len(prefix):].split("/", 1)[0] for k in store.list(prefix)
                if k.endswith("/" + MANIFEST_NAME)}
    return sorted(versions)


def resolve_task(store: ObjectStore, spec: TaskSpec) -> ResolvedModel | None:
    """The registry model a task uses, or None when its model is not a registry uri.

    A ``registry:<task>`` model with ``model_version`` "builtin" means the prod stage.
    """
    task = registry_task(spec.model)
    if task is None:
        return None
    ref = spec.model_version if spec.model_version not in ("", "builtin") else "prod"
    return resolve(store, task, ref)


def pin_models(store: ObjectStore, tasks: Iterable[TaskSpec]) -> dict[str, dict[str, str]]:
    """Lineage for a run manifest, task -> {version, sha256, uri}, resolved once at ingest.

    A run whose manifest pins a version keeps it even if the stage moves mid-run: every chunk
    of the run is then computed by the same model.
    """
    out: dict[str, dict[str, str]] = {}
    for spec in tasks:
        resolved = resolve_task(store, spec)
        out[spec.name] = resolved.lineage() if resolved else {"version": spec.model_version,
                                                                "uri": spec.model}
    return out


def download(store: ObjectStore, resolved: ResolvedModel, dest: Path) -> None:
    """Copy every file of a version into ``dest`` (an empty scratch dir), verifying each sha256.

    Raises CorruptModel naming the file, on the first mismatch.
    """
    prefix = keys.model_prefix(resolved.task, resolved.version)
    for rel, expected in resolved.manifest.files.items():
        target = dest / rel
        if not target.resolve().is_relative_to(dest.resolve()):
            raise CorruptModel(f"manifest of {resolved.task}/{resolved.version} names a file "
                               f"outside the model: {rel!r}")
        target.parent.mkdir(parents=True, exist_ok=True)
        h = hashlib.sha256()
        size = 0
        try:
            with store.open_read(prefix + rel) as src, open(target, "wb") as out:
                while block := src.read(_BLOCK):
                    h.update(block)
                    size += len(block)
                    out.write(block)
        except KeyError:
            raise CorruptModel(f"model {resolved.task}/{resolved.version}: file {rel} is listed "
                               "in the manifest but missing from the registry") from None
        if size != expected.size or h.hexdigest() != expected.sha256:
            raise CorruptModel(
                f"model {resolved.task}/{resolved.version}: checksum mismatch for {rel} "
                f"(sha256 {h.hexdigest()[:12]}…, {size} bytes; manifest says "
                f"{expected.sha256[:12]}…, {expected.size} bytes): refusing to load it")


def manifest_summary(resolved: ResolvedModel) -> dict[str, Any]:
    """What ``newsops model push|promote`` prints."""
    m = resolved.manifest
    return {"task": m.task, "version": m.version, "files": len(m.files),
            "created": m.created.isoformat(),
            "bytes": m.total_bytes, "manifest_sha256": resolved.manifest_sha256,
            "metrics": m.metrics, "source": m.source}
