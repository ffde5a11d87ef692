"""What a run's result objects say, checked the same way by the verify step at the end of a run
and by the scheduled verifier long after (and chunk by chunk by a retry): every chunk x task
result exists, its metadata is what a job writes, its counts add up with the chunk's, and it was
computed from this version of the chunk."""

from __future__ import annotations

from dataclasses import dataclass, field

from chalicelib.contract import keys
from chalicelib.contract.resultmeta import ResultMeta, ResultMetaError
from chalicelib.contract.schema import ChunkInfo, RunManifest, TaskSpec
from chalicelib.store.base import ObjectStore


@dataclass
class ChunkResult:
    key: str
    chunk: int
    meta: ResultMeta | None = None  # None: the object is missing, or its metadata unreadable
    problem: str | None = None  # None: the result is sound

    @property
    def missing(self) -> bool:
        return self.meta is None and self.problem is None


@dataclass
class TaskAudit:
    chunks: int = 0
    done: int = 0  # result objects present
    records: int = 0
    quarantined: int = 0
    seconds: float = 0.0
    missing: list[ChunkResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # a sentence each, naming the key


def check_chunk(store: ObjectStore, run_id: str, spec: TaskSpec, chunk: ChunkInfo) -> ChunkResult:
    key = keys.result(run_id, spec.name, chunk.index)
    info = store.head(key)
    if info is None:
        return ChunkResult(key, chunk.index)
    try:
        meta = ResultMeta.from_metadata(info.metadata)
    except ResultMetaError as exc:
        return ChunkResult(key, chunk.index, problem=f"result {key} {exc}")
    if meta.accounted != chunk.records:
        return ChunkResult(key, chunk.index, meta, f"{key}: {meta.records} results + {meta.quarantined} "
                                                   f"quarantined != {chunk.records} articles in the chunk")
    if meta.input_sha256 and meta.input_sha256 != chunk.sha256:
        return ChunkResult(key, chunk.index, meta,
                           f"{key} was computed from another version of chunk {chunk.index}")
    return ChunkResult(key, chunk.index, meta)


def audit_results(store: ObjectStore, manifest: RunManifest) -> dict[str, TaskAudit]:
    out: dict[str, TaskAudit] = {}
    for spec in manifest.tasks:
        audit = out[spec.name] = TaskAudit(chunks=len(manifest.chunks))
        for chunk in manifest.chunks:
            result = check_chunk(store, manifest.run_id, spec, chunk)
            if result.missing:
                audit.missing.append(result)
                continue
            if result.meta is not None:
                audit.done += 1
                audit.records += result.meta.records
                audit.quarantined += result.meta.quarantined
                audit.seconds += result.meta.seconds
            else:
                audit.done += 1  # present, but its metadata cannot be read
            if result.problem:
                audit.problems.append(result.problem)
        audit.seconds = round(audit.seconds, 3)
    return out
