"""Replay: run one task with a chosen model version over archived news, beside production.

Every new model should see old news (the team this project grew from kept raw HTML for that).
A replay takes the archived batches of a date range, either as they were ingested
(``incoming/YYYY-MM-DD/``) or re-extracted from the crawler's raw HTML (``raw/YYYY/MM/DD/``)
with today's extractor, and starts one *replay run* per batch through the same ingest and the
same state machine as production, with only the replayed task and its model version.

- A replay run's id derives from the input object, the task and the model version
  (``keys.replay_run_id``): replaying the same range again finds the runs it already made, so
  an interrupted replay resumes where it stopped (a failed replay run is retried).
- It never touches the original runs: its chunks, results and report live under its own
  ``runs/<replay id>/``, and its search documents sit beside the production ones
  (``<article id>@<task>:<version>``, ``replay_of`` = the article), shown by a search only when
  asked (``replays=true``) or when it names the run.
- At most ``parallel`` replay runs are in flight at once.
"""

from __future__ import annotations

import gzip
import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal
from urllib.parse import unquote

from chalicelib import jsonl
from chalicelib.contract import keys
from chalicelib.contract.schema import ReplayRef, TaskSpec
from chalicelib.registry import RegistryError, pin_models
from chalicelib.runtime import Runtime

log = logging.getLogger("newsops.replay")

Source = Literal["incoming", "raw"]
MAX_DAYS = 366


class ReplayError(Exception):
    """The replay cannot start: an unknown task or version, a bad date range."""


@dataclass(frozen=True)
class ArchivedBatch:
    key: str
    etag: str
    size: int
    archived: str  # what was archived: the incoming key, or the raw day prefix re-extracted


@dataclass
class ReplayItem:
    batch: ArchivedBatch
    run_id: str
    status: str = "pending"  # started | resumed | retried | done | failed | error
    verdict: str | None = None
    detail: str = ""


@dataclass
class ReplayOutcome:
    task: str
    model_version: str
    items: list[ReplayItem] = field(default_factory=list)

    @property
    def failed(self) -> list[ReplayItem]:
        return [i for i in self.items if i.verdict != "ok"]


def days(date_from: date, date_to: date) -> list[date]:
    if date_to < date_from:
        raise ReplayError(f"--from {date_from} is after --to {date_to}")
    n = (date_to - date_from).days + 1
    if n > MAX_DAYS:
        raise ReplayError(f"{n} days asked; replay at most {MAX_DAYS} days at a time")
    return [date_from + timedelta(days=i) for i in range(n)]


def replay_spec(rt: Runtime, task: str, model_version: str | None) -> tuple[TaskSpec, str]:
    """The task as the replay runs it, and the exact model version (a stage such as ``prod``
    resolved to the version it points at now, so the run id names a fixed model)."""
    try:
        spec = rt.tasks.get(task)
    except KeyError as exc:
        raise ReplayError(str(exc).strip("'\"")) from None
    if model_version:
        spec = spec.model_copy(update={"model_version": model_version})
    try:
        pinned = pin_models(rt.store, [spec]).get(spec.name) or {}
    except RegistryError as exc:
        raise ReplayError(f"model {model_version or spec.model_version} of {task}: {exc}") from None
    return spec, str(pinned.get("version") or spec.model_version)


def archived_batches(rt: Runtime, source: Source, span: list[date],
                     progress: Callable[[str], None] | None = None) -> Iterator[ArchivedBatch]:
    for day in span:
        if source == "incoming":
            for key in rt.store.list(f"{keys.INCOMING_PREFIX}{day:%Y-%m-%d}/"):
                info = rt.store.head(key)
                if info is not None:
                    yield ArchivedBatch(key=key, etag=info.etag, size=info.size, archived=key)
        else:
            batch = reextract_day(rt, day, progress=progress)
            if batch is not None:
                yield batch


def reextract_day(rt: Runtime, day: date,
                  progress: Callable[[str], None] | None = None) -> ArchivedBatch | None:
    """The day's archived raw pages through today's extractor, as one batch object (written
    under ``replay/``, where no trigger starts a production run). None for a day without pages."""
    from chalicelib.crawl.charset import charset_param
    from chalicelib.crawl.extract import ExtractionFailed, extract_article

    prefix = f"raw/{day:%Y/%m/%d}/"
    records: list[dict[str, Any]] = []
    failed = 0
    for key in rt.store.list(prefix):
        info = rt.store.head(key)
        if info is None or "url" not in info.metadata:
            continue
        url = unquote(info.metadata["url"])
        try:
            ex = extract_article(gzip.decompress(rt.store.get(key)), url,
                                 declared_charset=charset_param(info.metadata.get("content-type", "")))
        except (ExtractionFailed, OSError, ValueError) as exc:
            failed += 1
            log.info("replay: %s (%s) not extracted: %s", key, url, exc)
            continue
        record = {"id": keys.article_id(url), "url": keys.canonical_url(url), "title": ex.title,
                  "body": ex.body, "published": ex.published,
                  "source": unquote(info.metadata.get("source", "")) or None,
                  "language": ex.language, "raw": key, "extraction": ex.method,
                  "fetched": info.metadata.get("fetched")}
        records.append({k: v for k, v in record.items() if v is not None})
    if progress:
        progress(f"{day}: {len(records)} raw pages extracted again"
                 + (f", {failed} not extractable" if failed else ""))
    if not records:
        return None
    key = keys.replay_raw_batch(day)
    info = rt.store.put(key, jsonl.encode(records))
    return ArchivedBatch(key=key, etag=info.etag, size=info.size, archived=prefix)


def replay(rt: Runtime, *, task: str, model_version: str | None, date_from: date, date_to: date,
           source: Source = "incoming", parallel: int = 2, poll_s: float = 5.0,
           progress: Callable[[str], None] | None = None) -> ReplayOutcome:
    """Start (or resume) one replay run per archived batch of the range; wait for them all.

    Locally each run executes inside its start; on AWS its execution runs in Step Functions
    and this waits for it (polling), so no more than ``parallel`` are ever in flight.
    """
    if parallel < 1:
        raise ReplayError("--parallel must be at least 1")
    span = days(date_from, date_to)
    spec, version = replay_spec(rt, task, model_version)
    say = progress or (lambda _msg: None)
    outcome = ReplayOutcome(task=task, model_version=version)
    batches = list(archived_batches(rt, source, span, progress=say))
    if not batches:
        say(f"no archived {source} batches between {date_from} and {date_to}")
        return outcome
    say(f"replaying {len(batches)} batches with {task} {version} (at most {parallel} at once)")
    items = [ReplayItem(batch=b, run_id=keys.replay_run_id(b.key, b.etag, task, version)) for b in batches]
    outcome.items = items
    finished = 0
    with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="newsops-replay") as pool:
        pending: dict[Future[None], ReplayItem] = {
            pool.submit(_replay_one, rt, item, spec, version, source, poll_s): item for item in items}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                item = pending.pop(future)
                exc = future.exception()
                if exc is not None:
                    item.status, item.detail = "error", f"{type(exc).__name__}: {exc}"
                    log.error("replay of %s failed to run: %s", item.batch.key, item.detail)
                finished += 1
                say(f"[{finished}/{len(items)}] {item.batch.archived} -> {item.run_id}: "
                    f"{item.status}{', verdict ' + item.verdict if item.verdict else ''}"
                    f"{' (' + item.detail + ')' if item.detail else ''}")
    return outcome


def _replay_one(rt: Runtime, item: ReplayItem, spec: TaskSpec, version: str, source: Source,
                poll_s: float) -> None:
    from chalicelib.retry import RetryRefused, retry_run
    from chalicelib.steps.ingest import ingest_object

    run = rt.ledger.get_run(item.run_id)
    if run is not None and run.state == "SUCCEEDED":
        item.status, item.verdict = "done", run.verdict
        return
    if run is not None and run.state == "FAILED":
        try:
            retry_run(item.run_id, rt)
            item.status = "retried"
        except RetryRefused as exc:
            item.status, item.detail = "failed", str(exc)
    elif run is None or run.state == "CLAIMED":
        ref = ReplayRef(task=spec.name, model_version=version, source=source, archived=item.batch.archived)
        started = ingest_object(item.batch.key, item.batch.etag, rt, size=item.batch.size,
                                tasks=[spec], run_id=item.run_id, replay=ref)
        item.status = "started" if started.status == "started" else started.status
        if started.reason:
            item.detail = started.reason
    else:
        item.status = "resumed"  # RUNNING: started by an earlier replay; wait for it
    _wait_for_end(rt, item, poll_s)


def _wait_for_end(rt: Runtime, item: ReplayItem, poll_s: float) -> None:
    unrecorded = 0
    while True:
        run = rt.ledger.get_run(item.run_id)
        if run is None or run.state in ("SUCCEEDED", "FAILED"):
            item.verdict = run.verdict if run else None
            if run is not None:
                item.status = "done" if run.state == "SUCCEEDED" else "failed"
            return
        if run.state == "CLAIMED":
            return  # another process is ingesting it; a later replay resumes it
        execution = rt.workflow.describe(run.execution)
        if execution is not None and execution.status != "RUNNING" and run.state == "RUNNING":
            # The execution ended but its verdict is not in the ledger: give the write a few
            # polls (it lands just before the execution's last state), then call it what it
            # is, a failure path that could not record; the verifier reports it too.
            unrecorded += 1
            if unrecorded >= 3:
                item.status, item.detail = "failed", f"execution {execution.status}, no verdict recorded"
                return
        time.sleep(poll_s)
