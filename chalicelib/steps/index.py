"""The index step: bulk-index a run's merged documents, one slice of its chunks per invocation.

The state machine's ``Index`` Map invokes the index function once per slice of
``index_slice_chunks`` chunks (the execution input's ``index_slices``), so no invocation nears
Lambda's 15 minutes whatever the run's size. Each slice records its own outcome in the ledger
under ``index_slice:<first>-<last>``; a retried slice indexes the same documents again (their
ids are fixed) and overwrites its entry, so retries count nothing twice. ``index_summary`` adds
the slices up into the run's ``detail["index"]`` (verify writes it).
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from chalicelib.contract import keys
from chalicelib.contract.schema import RunManifest, describe_errors
from chalicelib.documents import iter_documents
from chalicelib.runtime import Runtime
from chalicelib.schema import IndexSlice

log = logging.getLogger("newsops.index")
_MAX_FAILURES_KEPT = 100
# Per slice, reasons cut: a run of 100 slices keeps its ledger item far below DynamoDB's 400 KB.
_MAX_FAILURES_KEPT_PER_SLICE = 3
_MAX_REASON_CHARS = 300
SLICE_PREFIX = "index_slice:"


class IndexRequest(BaseModel):
    """What the state machine passes to one invocation of the index function."""

    model_config = ConfigDict(extra="ignore")

    run_id: str = Field(min_length=1)
    first: int = Field(ge=0)
    last: int = Field(ge=0)


class IndexRequestError(ValueError):
    """The event is no index request: the message names the bad fields."""


def parse_request(event: dict[str, Any]) -> IndexRequest:
    try:
        req = IndexRequest.model_validate(event)
        IndexSlice(first=req.first, last=req.last)
    except ValidationError as exc:
        raise IndexRequestError(f"bad index request {event!r}: {describe_errors(exc)}") from None
    return req


def slice_key(first: int, last: int) -> str:
    return f"{SLICE_PREFIX}{first:05d}-{last:05d}"


def index_slice(run_id: str, first: int, last: int, rt: Runtime) -> dict[str, Any]:
    """Index the documents of chunks ``first`` .. ``last`` (inclusive) of the run."""
    started = rt.clock.now()
    manifest = RunManifest.model_validate_json(rt.store.get(keys.manifest(run_id)))
    if last >= len(manifest.chunks):
        raise IndexRequestError(f"run {run_id} has {len(manifest.chunks)} chunks: no chunk {last} to index")
    part = manifest.model_copy(update={"chunks": manifest.chunks[first:last + 1]})
    outcome = rt.search.index(iter_documents(rt.store, part))
    rt.ledger.update_run(run_id, detail={slice_key(first, last): {
        "first": first, "last": last, "started": started, "ended": rt.clock.now(),
        "indexed": outcome.indexed, "failed": len(outcome.failed), "retried": outcome.retried,
        "failures": [{**f, "reason": str(f.get("reason", ""))[:_MAX_REASON_CHARS]}
                     for f in outcome.failed[:_MAX_FAILURES_KEPT_PER_SLICE]]}})
    log.info("run %s chunks %d..%d: %d documents indexed, %d failed", run_id, first, last,
             outcome.indexed, len(outcome.failed))
    return {"run_id": run_id, "first": first, "last": last, "indexed": outcome.indexed,
            "failed": len(outcome.failed)}


def index_summary(detail: dict[str, Any]) -> dict[str, Any] | None:
    """The run's index outcome: its slices' entries added up; None before any slice ran.

    Also gives the index step's start and end (first slice started, last slice ended)."""
    slices = sorted((v for k, v in detail.items() if k.startswith(SLICE_PREFIX) and isinstance(v, dict)),
                    key=lambda v: int(v.get("first", 0)))
    if not slices:
        return None
    failures: list[Any] = []
    for s in slices:
        failures += s.get("failures") or []
    return {"indexed": sum(int(s.get("indexed", 0)) for s in slices),
            "failed": sum(int(s.get("failed", 0)) for s in slices),
            "retried": sum(int(s.get("retried", 0)) for s in slices),
            "slices": len(slices), "chunks": sum(int(s["last"]) - int(s["first"]) + 1 for s in slices),
            # Invocation seconds (what Lambda bills): slices overlap, so more than end - start.
            "seconds": round(sum(float(s["ended"]) - float(s["started"]) for s in slices), 3),
            "failures": failures[:_MAX_FAILURES_KEPT],
            "t_index_start": min(float(s["started"]) for s in slices),
            "t_index_end": max(float(s["ended"]) for s in slices)}
