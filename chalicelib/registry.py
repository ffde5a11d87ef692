"""The model registry: immutable model versions in the object store, and stage pointers.

Layout (docs/design.md §4)::

    models/<task>/<version>/<files…>          the model's files, never rewritten
    models/<task>/<version>/MANIFEST.json     sha256 + size per file, source, metrics
    models/<task>/stages/<stage>.json         {"version": …, "manifest_sha256": …}
    models/<task>/stages/history/<seq>-….json every promotion and rollback: who, when, why
    models/<task>/evaluation/<sha256>.jsonl   labelled data the promotion gate scores on
    models/<task>/evaluation/current.json     which of those is the task's evaluation data

``MANIFEST.json`` is written after every file, so a version whose manifest exists is complete;
its own sha256 names the exact bytes of a model in a run's lineage. Nothing here imports torch:
the Lambdas, the CLI and the batch job share this module.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from chalicelib.clock import SYSTEM_CLOCK, Clock
from chalicelib.contract import keys
from chalicelib.contract.modeluri import REGISTRY_SCHEME, registry_task
from chalicelib.contract.schema import TaskSpec
from chalicelib.store.base import ObjectStore

STAGES: tuple[str, ...] = ("prod", "staging")
Stage = Literal["prod", "staging"]
MANIFEST_NAME = "MANIFEST.json"
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_TASK = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
_BLOCK = 1 << 20
# Names under models/<task>/ that are not versions.
_RESERVED = ("stages", "evaluation")
_HISTORY_KEY = re.compile(r"^(\d{6})-")


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
    by: str = ""
    action: Literal["promote", "rollback"] = "promote"


class StageEvent(BaseModel):
    """One move of a stage pointer, as ``newsops model history`` shows it."""

    seq: int
    task: str
    stage: str
    action: Literal["promote", "rollback"]
    version: str
    previous: str | None = None
    manifest_sha256: str
    at: datetime
    by: str = ""
    reason: str = ""
    # Promoted although the gate refused it (``--force --reason``).
    forced: bool = False
    # What the promotion gate compared: data sha256, metric, both scores, its verdict.
    gate: dict[str, Any] = Field(default_factory=dict)


class EvaluationData(BaseModel):
    """The labelled file a task's promotions are scored on (``newsops model eval-data``)."""

    task: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    key: str
    file: str
    texts: int = Field(ge=1)
    registered: datetime
    by: str = ""
    source: str = ""


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
                                or version in _RESERVED):
        raise RegistryError(f"invalid model version {version!r}: 1-64 of [A-Za-z0-9._-], "
                            f"not a stage name ({', '.join(STAGES)}) nor {' or '.join(_RESERVED)}")


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
    manifest = ModelManifest(task=task, version=version, created=now or SYSTEM_CLOCK.utcnow(),
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


def actor() -> str:
    """Who is acting, for the record: NEWSOPS_ACTOR (CI, a deploy role), else the OS user."""
    named = os.environ.get("NEWSOPS_ACTOR", "").strip()
    if named:
        return named
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry: a container run under an arbitrary uid
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"


def promote(store: ObjectStore, task: str, version: str, stage: str = "prod", *, reason: str = "",
            by: str | None = None, clock: Clock = SYSTEM_CLOCK, forced: bool = False,
            gate: dict[str, Any] | None = None) -> StagePointer:
    """Point ``stage`` of ``task`` at ``version`` (which must exist); one atomic put.

    Mechanism only: the promotion gate (``newsops model promote``) decides before calling this.
    Every move is kept in the stage history (who, when from ``clock``, why, the gate's scores),
    which ``rollback`` and ``newsops model history`` read.
    """
    if stage not in STAGES:
        raise RegistryError(f"unknown stage {stage!r}: one of {', '.join(STAGES)}")
    digest = verify_stored(store, task, version).manifest_sha256
    return _move(store, task, stage, version, digest, action="promote", reason=reason,
                 by=by, clock=clock, forced=forced, gate=gate)


def rollback(store: ObjectStore, task: str, stage: str = "prod", *, reason: str = "",
             by: str | None = None, clock: Clock = SYSTEM_CLOCK) -> StagePointer:
    """Put back the version ``stage`` pointed at before its current one was promoted.

    The history is replayed as a stack (a promotion pushes, a rollback pops), so rolling back
    twice after v1 -> v2 -> v3 gives v2 then v1, never v3 again.
    """
    if stage not in STAGES:
        raise RegistryError(f"unknown stage {stage!r}: one of {', '.join(STAGES)}")
    current = stage_pointer(store, task, stage)
    if current is None:
        raise RegistryError(f"no {stage!r} model for task {task!r}: nothing to roll back")
    stack = stage_stack(store, task, stage)
    if stack and stack[-1] == current.version:
        target = stack[-2] if len(stack) >= 2 else None
    else:  # a pointer older than its history: its own record of what it replaced
        target = current.previous if current.previous != current.version else None
    if target is None:
        raise RegistryError(f"{task} {stage} is {current.version}, its first version: "
                            "there is no earlier one to roll back to")
    try:
        _manifest, digest = read_manifest(store, task, target)
    except CorruptModel as exc:
        raise CorruptModel(f"cannot roll back to {task}/{target}: {exc}") from None
    return _move(store, task, stage, target, digest, action="rollback", reason=reason, by=by,
                 clock=clock)


def _move(store: ObjectStore, task: str, stage: str, version: str, digest: str, *,
          action: Literal["promote", "rollback"], reason: str, by: str | None, clock: Clock,
          forced: bool = False, gate: dict[str, Any] | None = None) -> StagePointer:
    previous = stage_pointer(store, task, stage)
    now = clock.utcnow()
    who = by if by is not None else actor()
    events = history(store, task)
    seq = max((e.seq for e in events), default=0) + 1
    event = StageEvent(seq=seq, task=task, stage=stage, action=action, version=version,
                       previous=previous.version if previous else None, manifest_sha256=digest,
                       at=now, by=who, reason=reason, forced=forced, gate=dict(gate or {}))
    # The history entry goes first: a pointer never moves without its record. The time in the
    # key keeps two writers that read the same last seq from overwriting each other.
    store.put(f"{_history_prefix(task)}{seq:06d}-{now:%Y%m%dT%H%M%S%f}-{action}-{stage}.json",
              event.model_dump_json(indent=2).encode())
    pointer = StagePointer(task=task, stage=stage, version=version, manifest_sha256=digest,
                           promoted=now, previous=event.previous, reason=reason, by=who,
                           action=action)
    store.put(keys.model_stage(task, stage), pointer.model_dump_json(indent=2).encode())
    return pointer


def _history_prefix(task: str) -> str:
    return f"models/{task}/stages/history/"


def history(store: ObjectStore, task: str, stage: str | None = None) -> list[StageEvent]:
    """Every promotion and rollback of ``task``, oldest first.

    Entries written before the history kept who and the action (``<time>-<stage>.json``, a
    copy of the pointer) read as promotions by an unknown hand, ordered by time before the rest.
    """
    _check_names(task)
    prefix = _history_prefix(task)
    legacy: list[StageEvent] = []
    events: list[StageEvent] = []
    for key in store.list(prefix):
        name = key[len(prefix):]
        if "/" in name or not name.endswith(".json"):
            continue
        try:
            data = store.get(key)
        except KeyError:
            continue
        try:
            if _HISTORY_KEY.match(name):
                events.append(StageEvent.model_validate_json(data))
            else:
                p = StagePointer.model_validate_json(data)
                legacy.append(StageEvent(seq=0, task=p.task, stage=p.stage, action="promote",
                                         version=p.version, previous=p.previous,
                                         manifest_sha256=p.manifest_sha256, at=p.promoted,
                                         by=p.by, reason=p.reason))
        except ValidationError as exc:
            raise RegistryError(f"unreadable stage history entry {key}: {exc}") from None
    legacy.sort(key=lambda e: e.at)
    events.sort(key=lambda e: (e.seq, e.at))
    out = legacy + events
    return [e for e in out if stage is None or e.stage == stage]


def stage_stack(store: ObjectStore, task: str, stage: str) -> list[str]:
    """The versions ``stage`` would return to, oldest first, its current one last."""
    stack: list[str] = []
    for event in history(store, task, stage):
        if event.action == "rollback":
            if stack:
                stack.pop()
            if not stack or stack[-1] != event.version:
                stack.append(event.version)
        elif not stack or stack[-1] != event.version:
            stack.append(event.version)
    return stack


# -- evaluation data -----------------------------------------------------------------------------

def _evaluation_pointer(task: str) -> str:
    return f"models/{task}/evaluation/current.json"


def set_evaluation_data(store: ObjectStore, task: str, data: bytes, *, file: str, texts: int,
                        source: str = "", by: str | None = None,
                        clock: Clock = SYSTEM_CLOCK) -> EvaluationData:
    """Keep ``data`` (labelled JSON lines, checked by the caller) as the task's evaluation data.

    The bytes are stored under their sha256, never rewritten; the pointer names the current
    file, so a model card's ``evaluation.data_sha256`` says whether it was scored on it.
    """
    _check_names(task)
    digest = hashlib.sha256(data).hexdigest()
    key = f"models/{task}/evaluation/{digest}.jsonl"
    if not store.exists(key):
        store.put(key, data)
    record = EvaluationData(task=task, sha256=digest, key=key, file=file, texts=texts,
                            registered=clock.utcnow(), by=by if by is not None else actor(),
                            source=source)
    store.put(_evaluation_pointer(task), record.model_dump_json(indent=2).encode())
    return record


def evaluation_data(store: ObjectStore, task: str) -> EvaluationData | None:
    _check_names(task)
    try:
        return EvaluationData.model_validate_json(store.get(_evaluation_pointer(task)))
    except KeyError:
        return None
    except ValidationError as exc:
        raise RegistryError(f"unreadable {_evaluation_pointer(task)}: {exc}") from None


def evaluation_bytes(store: ObjectStore, record: EvaluationData) -> bytes:
    """The registered file, checked against its sha256."""
    try:
        data = store.get(record.key)
    except KeyError:
        raise RegistryError(f"evaluation data of {record.task} is missing ({record.key})") from None
    if hashlib.sha256(data).hexdigest() != record.sha256:
        raise CorruptModel(f"evaluation data {record.key} does not match its sha256")
    return data


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
    for rel, _expected in resolved.manifest.files.items():
        target = dest / rel
        if not target.resolve().is_relative_to(dest.resolve()):
            raise CorruptModel(f"manifest of {resolved.task}/{resolved.version} names a file "
                               f"outside the model: {rel!r}")
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "wb") as out:
            _copy_verified(store, resolved, rel, out.write)


def verify_stored(store: ObjectStore, task: str, version: str) -> ResolvedModel:
    """Read every file of a stored version and check it against its manifest (what a job does
    before loading it); raises CorruptModel naming the first bad file. A promotion calls it, so
    a corrupted version never becomes a stage."""
    manifest, digest = read_manifest(store, task, version)
    resolved = ResolvedModel(task=task, version=version, manifest_sha256=digest, manifest=manifest)
    for rel in manifest.files:
        _copy_verified(store, resolved, rel, lambda _block: None)
    return resolved


def _copy_verified(store: ObjectStore, resolved: ResolvedModel, rel: str, write: Any) -> None:
    expected = resolved.manifest.files[rel]
    h = hashlib.sha256()
    size = 0
    try:
        with store.open_read(keys.model_prefix(resolved.task, resolved.version) + rel) as src:
            while block := src.read(_BLOCK):
                h.update(block)
                size += len(block)
                write(block)
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
