"""``python -m newsops_batch``: process chunk N of one task of one run.

Idempotent per chunk (a result written for the same chunk checksum and model version is
kept), works in a scratch directory unique to this attempt, publishes its result in one
atomic write, and exits 0, RETRYABLE_EXIT or PERMANENT_EXIT so Batch knows whether to retry.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from chalicelib.contract import keys
from chalicelib.contract.exitcodes import PERMANENT_EXIT, RETRYABLE_EXIT
from chalicelib.contract.resultmeta import ResultMeta, ResultMetaError
from chalicelib.contract.schema import (
    Article,
    QuarantineRecord,
    ResultRecord,
    RunManifest,
    TaskSpec,
    describe_errors,
)
from chalicelib.jsonl import dumps_line, encode, iter_lines, loads_or_text
from chalicelib.lineage import code_version, image_ref
from chalicelib.store.base import ObjectStore
from newsops_batch.errors import PermanentError, RetryableError
from newsops_batch.jobstore import job_store
from newsops_batch.modelpath import resolve_task_model
from newsops_batch.tasks import JobContext, TaskRunner, article_text, load_runner

log = logging.getLogger("newsops.batch")

# A news article is a few thousand characters; past this a record is not an article (a whole
# feed, a binary blob) and would hold the chunk's batch hostage: it is quarantined instead.
DEFAULT_MAX_TEXT_CHARS = 200_000


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="newsops_batch", description=__doc__)
    p.add_argument("--run-id", default=os.environ.get("NEWSOPS_RUN_ID"))
    p.add_argument("--task", default=os.environ.get("NEWSOPS_TASK"))
    p.add_argument("--chunk", type=int, default=None,
                   help="chunk index (default: AWS_BATCH_JOB_ARRAY_INDEX, or 0 for a single job)")
    p.add_argument("--chunk-plan", default=os.environ.get("NEWSOPS_CHUNK_PLAN"),
                   help="key of a retry's chunk list: the array index picks from it "
                        "(default: NEWSOPS_CHUNK_PLAN)")
    args = p.parse_args(argv)
    if not args.run_id or not args.task:
        p.error("--run-id and --task (or NEWSOPS_RUN_ID and NEWSOPS_TASK) are required")
    return args


def _record_error(store: ObjectStore | None, args: argparse.Namespace, n: int | None, attempt: str,
                  exc: BaseException, *, permanent: bool) -> None:
    """Leave the cause where verify finds it: a missing result then says why, not "exit 65"."""
    if store is None or n is None:
        return
    doc = {"run_id": args.run_id, "task": args.task, "chunk": n, "attempt": int(attempt),
           "permanent": permanent, "error": f"{type(exc).__name__}: {exc}"[:2000],
           "exit_code": PERMANENT_EXIT if permanent else RETRYABLE_EXIT}
    try:
        store.put(keys.task_error(args.run_id, args.task, n), json.dumps(doc).encode())
    except Exception:  # noqa: BLE001 - the exit code still tells Batch; the log keeps the cause
        log.exception("could not record the failure of chunk %d", n)


def chunk_index(args: argparse.Namespace, store: ObjectStore) -> int:
    """The chunk this process runs: ``--chunk``, else the array index, mapped through the
    retry's chunk plan when there is one (a retry runs only the chunks still missing)."""
    if args.chunk is not None:
        return int(args.chunk)
    index = int(os.environ.get("AWS_BATCH_JOB_ARRAY_INDEX", "0"))
    if not args.chunk_plan:
        return index
    try:
        plan = json.loads(store.get(args.chunk_plan))["chunks"]
    except KeyError:
        raise PermanentError(f"chunk plan missing: {args.chunk_plan}") from None
    if not 0 <= index < len(plan):
        raise PermanentError(f"array index {index} is outside the chunk plan {args.chunk_plan} "
                             f"({len(plan)} chunks)")
    return int(plan[index])


def main(argv: list[str] | None = None, *, store: ObjectStore | None = None,
         runner: TaskRunner | None = None) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = parse_args(argv)
    _limit_threads()
    attempt = os.environ.get("AWS_BATCH_JOB_ATTEMPT", "1")
    scratch: Path | None = None
    n: int | None = None
    try:
        store = store or job_store()
        n = chunk_index(args, store)
        scratch = Path(tempfile.mkdtemp(prefix=f"newsops-{args.run_id[:40]}-{args.task}-{n}-a{attempt}-"))
        process_chunk(store, args.run_id, args.task, n, scratch=scratch, runner=runner)
        return 0
    except PermanentError as exc:
        log.error("permanent failure (no retry): %s", exc)
        _record_error(store, args, n, attempt, exc, permanent=True)
        return PERMANENT_EXIT
    except (RetryableError, OSError, MemoryError, TimeoutError, RuntimeError) as exc:
        log.exception("retryable failure: %s", exc)
        _record_error(store, args, n, attempt, exc, permanent=False)
        return RETRYABLE_EXIT
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def process_chunk(store: ObjectStore, rid: str, task: str, n: int, *, scratch: Path,
                  runner: TaskRunner | None = None) -> dict[str, Any]:
    started = time.time()
    try:
        manifest = RunManifest.model_validate_json(store.get(keys.manifest(rid)))
    except KeyError:
        raise PermanentError(f"no manifest for run {rid}") from None
    spec = _task_spec(manifest, task)
    if not 0 <= n < len(manifest.chunks):
        raise PermanentError(f"chunk {n} out of range: run {rid} has {len(manifest.chunks)} chunks")
    chunk = manifest.chunks[n]
    result_key = keys.result(rid, task, n)
    # Pinned before anything else: the idempotency check and the lineage name this version.
    # A package model is checked here against the manifest's pin (exit 65 on a mismatch).
    model = resolve_task_model(store, spec, manifest)
    image = image_ref()
    if manifest.image and manifest.image != image:
        log.warning("run %s was ingested for image %s; this job runs %s (a deploy between the two?)",
                    rid, manifest.image, image)

    done = _done_result(store, result_key)
    if done is not None and done.input_sha256 == chunk.sha256 and done.model_version == model.version \
            and done.model_sha256 == (model.sha256 or "") and done.packages_sha256 == model.packages_sha256:
        log.info("chunk %d of %s/%s already done for this input and model: skipped", n, rid, task)
        return {"skipped": True, "records": done.records}

    try:
        data = store.get(chunk.key)
    except KeyError:
        raise PermanentError(f"chunk object missing: {chunk.key}") from None
    if hashlib.sha256(data).hexdigest() != chunk.sha256:
        raise PermanentError(f"chunk {chunk.key} does not match the manifest's sha256")
    (scratch / "chunk.jsonl.gz").write_bytes(data)

    articles: list[Article] = []
    quarantined: list[QuarantineRecord] = []
    max_chars = int(spec.options.get("max_text_chars", DEFAULT_MAX_TEXT_CHARS))
    for line in iter_lines(io.BytesIO(data)):
        if not line.strip():
            continue
        article, problem = _parse(line, max_chars)
        if article is None:
            quarantined.append(QuarantineRecord(stage=task, reason=problem, chunk=n,
                                                record=loads_or_text(line)))
        else:
            articles.append(article)

    log.info("run %s task %s chunk %d: %d articles, model %s", rid, task, n, len(articles), model.version)
    if articles and runner is None:
        runner = load_runner(spec, JobContext(store=store, manifest=manifest, chunk=chunk, model=model))
    outputs = runner.run(articles) if articles and runner is not None else []
    if len(outputs) != len(articles):
        raise PermanentError(f"task {task} returned {len(outputs)} outputs for {len(articles)} articles")
    failures = [o for o in outputs if isinstance(o, Exception)]
    if len(articles) > 1 and len(failures) == len(articles):
        # Every article failing is the job failing (a broken model or device), not bad input.
        raise RetryableError(f"all {len(articles)} articles failed; first: {failures[0]!r}")
    results: list[dict[str, Any]] = []
    for article, out in zip(articles, outputs, strict=True):
        if isinstance(out, Exception):
            quarantined.append(QuarantineRecord(stage=task, reason=f"{type(out).__name__}: {out}",
                                                chunk=n, id=article.id,
                                                record=article.model_dump(mode="json")))
            continue
        results.append(ResultRecord(id=article.id or "", task=task, language=article.language,
                                    output=out).model_dump())

    if quarantined:
        store.put(keys.task_quarantine(rid, task, n),
                  b"".join(dumps_line(q.model_dump(exclude_none=True)) for q in quarantined))
    # The result is the completion marker, so it is written last, in one atomic step.
    extra = {k: str(v) for k, v in (getattr(runner, "result_metadata", None) or {}).items()}
    meta = ResultMeta(
        **extra, records=len(results), quarantined=len(quarantined), input_sha256=chunk.sha256,
        model_version=model.version, model_uri=spec.model, model_sha256=model.sha256 or "",
        packages_sha256=model.packages_sha256, image=image, code_version=code_version(),
        seconds=time.time() - started)
    store.put(result_key, encode(results), metadata=meta.to_metadata())
    log.info("run %s task %s chunk %d: %d results, %d quarantined in %.1fs",
             rid, task, n, len(results), len(quarantined), time.time() - started)
    return {"skipped": False, "records": len(results), "quarantined": len(quarantined)}


def _done_result(store: ObjectStore, key: str) -> ResultMeta | None:
    info = store.head(key)
    if info is None:
        return None
    try:
        return ResultMeta.from_metadata(info.metadata)
    except ResultMetaError:
        return None  # not a result a job wrote: compute it again


def _limit_threads() -> None:
    """Local workers run one per core: ``NEWSOPS_TORCH_THREADS`` keeps each to its share. Set
    through the environment, before torch is imported, so the job pays no import here."""
    threads = os.environ.get("NEWSOPS_TORCH_THREADS")
    if threads:
        for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(name, threads)


def _task_spec(manifest: RunManifest, task: str) -> TaskSpec:
    for t in manifest.tasks:
        if t.name == task:
            return t
    raise PermanentError(f"task {task!r} is not part of run {manifest.run_id}")


def _parse(line: bytes, max_chars: int = DEFAULT_MAX_TEXT_CHARS) -> tuple[Article | None, str]:
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"invalid UTF-8: {exc}"
    # Refused before parsing: validating a multi-megabyte record only to drop it costs time.
    if len(text) > 2 * max_chars + 65_536:
        return None, f"record too long: {len(text)} characters (text limit {max_chars})"
    try:
        article = Article.model_validate_json(text)
    except ValidationError as exc:
        return None, f"invalid article: {describe_errors(exc)}"
    size = len(article_text(article))
    if size > max_chars:
        return None, f"text too long: {size} characters over the limit of {max_chars} (options.max_text_chars)"
    return article, ""

