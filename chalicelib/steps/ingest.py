"""Ingest: one input object under ``incoming/`` -> validated chunks, a manifest, one run.

Streams the input (one chunk in memory at a time), so a 200k-article batch needs no more
memory than a 500-article one.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import logging
import zlib
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import IO, Any

import orjson
from pydantic import ValidationError

from chalicelib.alerts.base import Alert
from chalicelib.contract import keys
from chalicelib.contract.schema import (
    Article,
    ChunkInfo,
    InputRef,
    QuarantineRecord,
    ReplayRef,
    RunManifest,
    TaskSpec,
    describe_errors,
)
from chalicelib.joblimits import ChildLimit, run_limit_s
from chalicelib.jsonl import GZIP_MAGIC, dumps_line, iter_gzip_lines, loads_or_text
from chalicelib.ledger.base import RunRecord
from chalicelib.lineage import code_version, image_ref
from chalicelib.modellock import with_package_pins
from chalicelib.registry import RegistryError, pin_models
from chalicelib.runtime import Runtime
from chalicelib.schema import ExecutionInput, ExecutionTask, IndexSlice
from chalicelib.store.base import ObjectChanged
from chalicelib.store.events import object_from_event

log = logging.getLogger("newsops.ingest")

# Below this many compressed bytes per article no real input goes; only an input big enough
# to need more than max_chunks chunks at that density pays for a counting pass first.
_MIN_COMPRESSED_BYTES_PER_ARTICLE = 40
_CHUNK_GZIP_LEVEL = 1  # chunks are read once by the job: speed over size


class RejectedInput(Exception):
    """The object is not gzip JSON lines at all: no run starts, a person is alerted."""


@dataclass
class IngestOutcome:
    run_id: str | None
    status: str  # "started" | "duplicate" | "rejected" | "blocked" | "ignored"
    reason: str = ""
    articles: dict[str, int] = field(default_factory=dict)
    chunks: int = 0
    execution_status: str | None = None


def handle_event(event: dict[str, Any], rt: Runtime) -> IngestOutcome:
    _bucket, key, etag, size, version = object_from_event(event)
    if not keys.is_incoming(key):
        return IngestOutcome(None, "ignored", f"not under {keys.INCOMING_PREFIX}: {key}")
    info = rt.store.head(key)
    if info is None:
        return IngestOutcome(None, "ignored", f"object is gone: {key}")
    # The event's etag (and version id, in a versioned bucket) names the object that triggered
    # us: every read below is pinned to it, so the run id never stands for other bytes.
    return ingest_object(key, etag or info.etag, rt, size=size or info.size, version=version)


def ingest_object(key: str, etag: str, rt: Runtime, *, size: int = 0,
                  version: str | None = None, tasks: list[TaskSpec] | None = None,
                  run_id: str | None = None, replay: ReplayRef | None = None) -> IngestOutcome:
    """Claim, split and start the run of one input object. A replay (chalicelib/replay.py)
    passes its own run id, its one task (with the model version it replays) and its ref."""
    rid = run_id or keys.run_id(key, etag)
    specs = tasks if tasks is not None else rt.tasks.tasks
    # The claim's time and the takeover cutoff come from the clock the ledger stamps with.
    started = rt.clock.now()
    try:
        # Resolved before the claim: a missing or corrupt model blocks the run without using
        # up its id, so `newsops run KEY` (or a redelivery) starts it once the model is fixed.
        models = with_package_pins(pin_models(rt.store, specs), specs)
    except RegistryError as exc:
        rt.alerts.publish(Alert(
            subject=f"newsops run blocked: model not available for {key.rsplit('/', 1)[-1]}",
            severity="error", reason=str(exc), run_id=rid, stage="ingest",
            look_at=["newsops model list", rt.store.uri(key)]))
        log.error("run %s not started: %s", rid, exc)
        return IngestOutcome(rid, "blocked", str(exc))
    if not rt.ledger.claim_run(RunRecord(run_id=rid, input_key=key, etag=etag, created=started,
                                         updated=started, detail={"t_ingest_start": started})):
        if not rt.ledger.take_over_claim(rid, claimed_before=started - rt.settings.ingest_lease_s):
            log.info("duplicate event for %s: run %s already claimed", key, rid)
            return IngestOutcome(rid, "duplicate", "run already claimed")
        # Its claimer failed (and released it) or died while splitting (timeout, out of memory):
        # chunks and the manifest are rewritten whole under the same keys, so starting over is safe.
        log.warning("run %s was claimed and never started (its ingest failed, or died over %ds "
                    "ago): taking it over", rid, rt.settings.ingest_lease_s)
    try:
        return _split_and_start(rt, rid, key, etag, size, version, models, specs, replay)
    except Exception as exc:
        _release_unstarted(rt, rid, exc)
        raise


def _release_unstarted(rt: Runtime, rid: str, exc: Exception) -> None:
    """After an error (S3, Step Functions, the ledger) before the run's execution started, free
    the claim, so that the event's retry (Lambda retries a failed asynchronous invocation) or
    `newsops run KEY` starts the run, instead of finding it claimed and stopping as a duplicate."""
    try:
        if rt.workflow.describe(rid) is not None:
            return  # the execution exists: the run goes on, and its own failure path reports
        rt.ledger.update_run(rid, detail={"ingest_failed_attempt": f"{type(exc).__name__}: {exc}"[:500]})
        rt.ledger.release_claim(rid)
        log.error("run %s: ingest failed before the run started (%s: %s); claim released for a retry",
                  rid, type(exc).__name__, exc)
    except Exception:  # noqa: BLE001 - the original error is the one to raise
        log.exception("run %s: could not release the claim; it is taken over after the lease", rid)


def _split_and_start(rt: Runtime, rid: str, key: str, etag: str, size: int, version: str | None,
                     models: dict[str, dict[str, str]], specs: list[TaskSpec],
                     replay: ReplayRef | None) -> IngestOutcome:
    settings = rt.settings
    pin = _Pin(etag=etag, version=version)
    try:
        try:
            chunk_size = settings.chunk_size
            if size > chunk_size * settings.max_chunks * _MIN_COMPRESSED_BYTES_PER_ARTICLE:
                chunk_size = _chunk_size_for(_count_lines(rt, key, pin=pin), settings.chunk_size,
                                             settings.max_chunks)
            split = _split(rt, rid, key, chunk_size, pin=pin)
        except RejectedInput as exc:
            return _reject(rt, rid, key, str(exc), pin=pin)
    except ObjectChanged as exc:
        return _input_replaced(rt, rid, key, str(exc))

    manifest = RunManifest(
        run_id=rid, created=rt.clock.utcnow(),
        input=InputRef(uri=rt.store.uri(key), key=key, etag=etag, version=version, size=size),
        chunk_size=chunk_size, chunks=split.chunks, articles=split.counts,
        tasks=specs, code_version=code_version(), image=image_ref(),
        models=models, replay=replay,
    )
    rt.store.put(keys.manifest(rid), manifest.model_dump_json(indent=2).encode())
    payload = execution_input(rt, rid, len(split.chunks), specs=specs)
    rt.ledger.update_run(rid, state="RUNNING", detail={
        "t_ingest_end": rt.clock.now(), "articles": split.counts, "chunks": len(split.chunks),
        "tasks": [t.name for t in specs],
        **({"replay": replay.model_dump()} if replay else {})})
    log.info("run %s: %d articles valid, %d quarantined, %d chunks; starting workflow",
             rid, split.counts["valid"], split.counts["quarantined"], len(split.chunks))
    if not split.chunks:
        return _fail_without_articles(rt, rid, key, split)
    execution = rt.workflow.start(rid, payload.model_dump())
    return IngestOutcome(rid, "started", "", split.counts, len(split.chunks), execution.status)


def _fail_without_articles(rt: Runtime, rid: str, key: str, split: _Split) -> IngestOutcome:
    """Every line was quarantined: the workflow would submit empty arrays. The run fails here,
    its report and its one alert say why (the verifier then knows it was alerted)."""
    from chalicelib.steps.verify import verify_run

    reasons = "; ".join(split.first_reasons)
    cause = (f"no valid article in the input: all {split.counts['quarantined']} lines quarantined"
             + (f" (first: {reasons})" if reasons else ""))
    verify_run(rid, rt, extra_problems=[cause])
    rt.ledger.update_run(rid, detail={"failed_at": "ingest", "failure": cause[:1000]})
    rt.alerts.publish(Alert(
        subject=f"newsops run FAILED at ingest: {rid}", severity="error", reason=cause[:1000],
        run_id=rid, stage="ingest", counts=split.counts,
        look_at=[rt.store.uri(keys.ingest_quarantine(rid)), f"newsops status {rid}"],
        details={"input": rt.store.uri(key)}))
    rt.ledger.update_run(rid, detail={"alerted": True})
    return IngestOutcome(rid, "started", cause, split.counts, 0, "FAILED")


def execution_input(rt: Runtime, rid: str, chunks: int, *, specs: list[TaskSpec] | None = None,
                    plans: dict[str, tuple[str, int]] | None = None) -> ExecutionInput:
    """The workflow's input: per task, one job over the run's chunks. A retry passes its
    ``plans`` (task -> (chunk plan key, chunks to run)): a task absent from them is done and
    gets no job; the others run an array over their plan only. The index step always covers
    every chunk, in slices of ``index_slice_chunks``."""
    s = rt.settings
    jobs: list[tuple[TaskSpec, int, dict[str, str]]] = []
    for t in specs if specs is not None else rt.tasks.tasks:
        env = {"NEWSOPS_RUN_ID": rid, "NEWSOPS_TASK": t.name}
        size = chunks
        if plans is not None:
            if t.name not in plans:
                continue
            env["NEWSOPS_CHUNK_PLAN"], size = plans[t.name]
        jobs.append((t, size, env))
    # Every task's children share the compute environment: one bound for the run's jobs.
    limit = run_limit_s([ChildLimit(size, t.attempts, t.timeout_s) for t, size, _ in jobs], s)
    tasks = [ExecutionTask(
        name=t.name, job_name=f"{rid}-{t.name}"[:128],
        job_definition=f"{s.job_definition_prefix}-{t.name}",
        array_size=size if size > 1 else 0, attempts=t.attempts, timeout_s=t.timeout_s,
        sfn_timeout_s=limit, environment=[{"Name": k, "Value": v} for k, v in env.items()],
    ) for t, size, env in jobs]
    step = s.index_slice_chunks
    slices = [IndexSlice(first=i, last=min(i + step, chunks) - 1) for i in range(0, chunks, step)]
    return ExecutionInput(run_id=rid, manifest=keys.manifest(rid), chunks=chunks, tasks=tasks,
                          index_slices=slices)


def _chunk_size_for(lines: int, chunk_size: int, max_chunks: int) -> int:
    return max(chunk_size, -(-lines // max_chunks))


@dataclass
class _Split:
    chunks: list[ChunkInfo]
    counts: dict[str, int]
    first_reasons: list[str] = field(default_factory=list)  # a few, for a run that has no article


class _ChunkBuffer:
    """One chunk's lines, compressed in one call when full (per-line gzip writes are slow)."""

    def __init__(self) -> None:
        self.lines: list[bytes] = []

    @property
    def records(self) -> int:
        return len(self.lines)

    def add(self, line: bytes) -> None:
        self.lines.append(line)

    def finish(self) -> bytes:
        return gzip.compress(b"".join(self.lines), compresslevel=_CHUNK_GZIP_LEVEL, mtime=0)


@dataclass(frozen=True)
class _Pin:
    """Which object an ingest reads: the event's etag, and its version id where S3 gave one."""

    etag: str | None = None
    version: str | None = None


def _open_pinned(rt: Runtime, key: str, pin: _Pin | None) -> Any:
    pin = pin or _Pin()
    try:
        return rt.store.open_read(key, etag=pin.etag, version=pin.version)
    except KeyError:
        raise ObjectChanged(f"{key}: the object was deleted before it was read") from None


def _input_lines(rt: Runtime, key: str, stack: ExitStack, *, pin: _Pin | None = None) -> Iterator[bytes]:
    raw = stack.enter_context(_open_pinned(rt, key, pin))
    head = raw.read(2)
    if head != GZIP_MAGIC:
        raise RejectedInput("not gzip: an input must be gzip-compressed JSON lines (.jsonl.gz)")
    # Re-feed the two magic bytes we consumed; the stream itself is never loaded whole.
    return iter_gzip_lines(_Prefixed(head, raw))


def _count_lines(rt: Runtime, key: str, *, pin: _Pin | None = None) -> int:
    with ExitStack() as stack:
        try:
            return sum(1 for _ in _input_lines(rt, key, stack, pin=pin))
        except (OSError, EOFError, zlib.error) as exc:
            raise RejectedInput(f"corrupt gzip stream: {exc}") from exc


def _split(rt: Runtime, rid: str, key: str, chunk_size: int, *, pin: _Pin | None = None) -> _Split:
    chunks: list[ChunkInfo] = []
    counts = {"input": 0, "valid": 0, "quarantined": 0}
    first_reasons: list[str] = []
    seen: set[str] = set()
    json_ok = 0
    written: list[str] = []

    def publish(n: int, buf: _ChunkBuffer) -> ChunkInfo:
        data = buf.finish()
        ck = keys.chunk(rid, n)
        rt.store.put(ck, data, metadata={"records": str(buf.records)})
        return ChunkInfo(index=n, key=ck, records=buf.records, sha256=hashlib.sha256(data).hexdigest())

    # Compressing and uploading a chunk (zlib and I/O release the GIL) overlaps with parsing
    # the next; at most two chunks wait, so memory stays bounded by the chunk size.
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="newsops-ingest")
    pending: deque[Future[ChunkInfo]] = deque()

    def settle(limit: int) -> None:
        while len(pending) > limit:
            info = pending.popleft().result()
            written.append(info.key)
            chunks.append(info)

    def flush(buf: _ChunkBuffer) -> None:
        pending.append(pool.submit(publish, len(chunks) + len(pending), buf))
        settle(2)

    with ExitStack() as stack:
        stack.callback(pool.shutdown, wait=True)
        quarantine: IO[bytes] | None = None
        try:
            buf = _ChunkBuffer()
            for lineno, line in enumerate(_input_lines(rt, key, stack, pin=pin), start=1):
                if not line.strip():
                    continue
                counts["input"] += 1
                reason, article = _validate(line)
                if article is not None:
                    json_ok += 1
                    if article.id in seen:
                        reason, article = f"duplicate article id {article.id} in this input", None
                    else:
                        seen.add(article.id)  # type: ignore[arg-type]
                elif reason and not reason.startswith("invalid JSON"):
                    json_ok += 1
                if article is None:
                    counts["quarantined"] += 1
                    if len(first_reasons) < 3:
                        first_reasons.append(f"line {lineno}: {reason}"[:200])
                    if quarantine is None:
                        quarantine = stack.enter_context(rt.store.open_write(keys.ingest_quarantine(rid)))
                    quarantine.write(dumps_line(QuarantineRecord(
                        stage="ingest", reason=reason, line=lineno,
                        record=loads_or_text(line)).model_dump(exclude_none=True)))
                    continue
                counts["valid"] += 1
                buf.add(_normalized_line(line, article))
                if buf.records >= chunk_size:
                    flush(buf)
                    buf = _ChunkBuffer()
            if buf.records:
                flush(buf)
            settle(0)
        except (OSError, EOFError, zlib.error) as exc:
            for f in pending:
                if f.exception() is None:
                    written.append(f.result().key)
            for k in written:
                rt.store.delete(k)
            raise RejectedInput(f"corrupt or truncated gzip stream: {exc}") from exc
        if counts["input"] == 0:
            raise RejectedInput("empty input: no lines")
        if json_ok == 0:
            for k in written:
                rt.store.delete(k)
            raise RejectedInput("not JSON lines: no line of the input is a JSON object")
    return _Split(chunks, counts, first_reasons)


def _normalized_line(line: bytes, article: Article) -> bytes:
    """The chunk line: the input line itself, with the derived id and language prepended.

    Re-serialising every article costs as much as validating it; prepending keys the input
    did not carry keeps the line valid JSON (no key twice) and unknown fields verbatim. A key
    present but empty (``"id": null``) takes the full re-serialisation.
    """
    absent = article._absent
    stripped = line.strip()
    if article._given_empty or not stripped.startswith(b"{") or stripped[1:].lstrip().startswith(b"}"):
        return article.model_dump_json(exclude_none=True).encode() + b"\n"
    extra = b""
    if "id" in absent:
        extra += b'"id":' + orjson.dumps(article.id) + b","
    if "language" in absent:
        extra += b'"language":' + orjson.dumps(article.language) + b","
    return b"{" + extra + stripped[1:] + b"\n"


def _validate(line: bytes) -> tuple[str, Article | None]:
    try:
        return "", Article.model_validate_json(line)
    except ValidationError as exc:
        errors = exc.errors()
        if errors and errors[0]["type"] == "json_invalid":
            return f"invalid JSON: {errors[0]['msg']}", None
        if errors and errors[0]["type"] == "model_type":
            return f"not a JSON object: {errors[0]['msg']}", None
        return f"invalid article: {describe_errors(exc)}", None



def _reject(rt: Runtime, rid: str, key: str, reason: str, *, pin: _Pin | None = None) -> IngestOutcome:
    name = key.rsplit("/", 1)[-1]
    dest = keys.rejected(name, rt.clock.utcnow())
    with _open_pinned(rt, key, pin) as src, rt.store.open_write(dest) as dst:
        while block := src.read(1 << 20):
            dst.write(block)
    rt.ledger.update_run(rid, state="FAILED", verdict="rejected", ended=rt.clock.now(),
                         detail={"rejected": reason, "rejected_key": dest})
    rt.alerts.publish(Alert(
        subject=f"newsops input rejected: {name}", severity="error", reason=reason,
        run_id=rid, stage="ingest", look_at=[rt.store.uri(dest)],
        details={"input": rt.store.uri(key)}))
    log.error("rejected %s: %s (copied to %s)", key, reason, dest)
    return IngestOutcome(rid, "rejected", reason)


def _input_replaced(rt: Runtime, rid: str, key: str, reason: str) -> IngestOutcome:
    """The event's object was overwritten or deleted before ingest read it, in a bucket that
    keeps no versions: its bytes are gone, so its run cannot start. The newer object's own event
    starts the newer object's run; this one ends here, recorded and alerted, never retried."""
    name = key.rsplit("/", 1)[-1]
    why = f"input replaced before it was read: {reason}"
    rt.ledger.update_run(rid, state="FAILED", verdict="rejected", ended=rt.clock.now(),
                         detail={"rejected": why, "rejected_key": key, "input_replaced": True})
    rt.alerts.publish(Alert(
        subject=f"newsops run not started, input replaced: {name}", severity="warning", reason=why,
        run_id=rid, stage="ingest", look_at=[rt.store.uri(key)]))
    log.error("run %s not started: %s", rid, why)
    return IngestOutcome(rid, "rejected", why)


class _Prefixed(io.RawIOBase):
    """A read stream that yields ``head`` and then the rest of ``stream``."""

    def __init__(self, head: bytes, stream: IO[bytes]) -> None:
        self._head = head
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        if self._head:
            n = min(len(b), len(self._head))
            b[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._stream.read(len(b))
        b[: len(data)] = data
        return len(data)
