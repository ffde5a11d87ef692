"""The ``newsops`` command: local operations of the pipeline."""

from __future__ import annotations

import argparse
import errno
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from chalicelib.contract import keys

# A full, read-only or failing disk: an environment fault to state in one line, not a bug.
_DISK_FAULTS = frozenset({errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.EIO, errno.EFBIG})


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="newsops", description="Event-driven MLOps pipeline for business news.")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="debug logging, and the full traceback of a configuration error")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="generate a sample batch and run it through the whole pipeline")
    p.add_argument("--articles", type=int, default=240, help="articles in the generated batch (default 240)")
    p.add_argument("--chunk-size", type=int, default=40,
                   help="articles per chunk, so the demo shows an array job (default 40)")
    p.add_argument("--seed", type=int, default=None, help="sample seed (default: a new one per demo)")
    p.add_argument("--no-crawl", action="store_true",
                   help="put a generated batch directly instead of crawling the sample site")

    p = sub.add_parser("ingest", help="put a .jsonl.gz file under incoming/: this triggers a run")
    p.add_argument("file", type=Path, help="gzip JSON lines, one article per line (README: the input format)")
    p.add_argument("--batch-id", help="name of the object under incoming/YYYY-MM-DD/ (default: the file name)")

    p = sub.add_parser("run", help="start the run of an object already under incoming/ (by key), "
                                   "or retry a run that failed (--retry RUN_ID)",
                       description="Start the run of an object under incoming/ (KEY, e.g. "
                                   "incoming/2026-12-06/batch.jsonl.gz), or retry a failed or "
                                   "interrupted run: only the chunks without a verified result run "
                                   "again, and the ledger keeps every attempt.")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("key", nargs="?", help="object key under incoming/, e.g. "
                                             "incoming/2026-12-06/batch.jsonl.gz (see `newsops status`)")
    what.add_argument("--retry", metavar="RUN_ID", help="start the next attempt of this run")

    p = sub.add_parser("replay", help="reprocess archived batches with a task's model version, "
                                      "beside production",
                       description="Run one task with a chosen model version over the archived "
                                   "batches of a date range. Each batch becomes a replay run whose "
                                   "id derives from the batch, the task and the model version; the "
                                   "original runs are never changed, and the replay's search "
                                   "results show with `newsops search --replays`. Run it again to "
                                   "resume: finished replay runs are kept, failed ones retried.")
    p.add_argument("--task", required=True, help="task name in the task config, e.g. companies")
    p.add_argument("--model-version", metavar="V",
                   help="registry version or stage (default: the task's configured version)")
    p.add_argument("--from", dest="date_from", required=True, metavar="YYYY-MM-DD",
                   help="first day of archived batches (incoming/YYYY-MM-DD/ or raw/YYYY/MM/DD/)")
    p.add_argument("--to", dest="date_to", required=True, metavar="YYYY-MM-DD",
                   help="last day, included (at most 366 days after --from)")
    p.add_argument("--source", choices=["incoming", "raw"], default="incoming",
                   help="incoming: the batches as ingested; raw: the crawler's archived HTML, "
                        "extracted again with the current extractor")
    p.add_argument("--parallel", type=int, default=2, metavar="N",
                   help="replay runs in flight at once (default 2)")

    p = sub.add_parser("crawl", help="crawl the configured sources; the batch it writes starts a run")
    p.add_argument("--sources", type=Path, help="sources file (default: NEWSOPS_SOURCES_FILE or the bundled demo sources)")
    p.add_argument("--budget", type=float, default=600.0, help="seconds; unfinished work carries over")

    p = sub.add_parser("search", help="search the indexed articles (text, filters, facets, similar)")
    p.add_argument("q", nargs="?", default="", help="full-text query (English or Japanese)")
    p.add_argument("--company", help="articles naming this company (its name or normalized name)")
    p.add_argument("--category", help="articles of this category (one of the category task's labels)")
    p.add_argument("--source", help="articles from this source (its name in the sources file)")
    p.add_argument("--language", help="language code, e.g. en or ja")
    p.add_argument("--run-id", help="only the documents this run indexed")
    p.add_argument("--from", dest="date_from", metavar="YYYY-MM-DD", help="published on or after this day")
    p.add_argument("--to", dest="date_to", metavar="YYYY-MM-DD", help="published on or before this day")
    p.add_argument("--similar", dest="similar_to", metavar="ARTICLE_ID",
                   help="articles similar to this one (an id from a search hit)")
    p.add_argument("--size", type=int, help="hits to show, 1 to 100 (default 10)")
    p.add_argument("--offset", type=int, help="hits to skip first, for the next page (default 0)")
    p.add_argument("--facets", action="store_true", help="top companies, categories, sources, days")
    p.add_argument("--replays", action="store_true",
                   help="also show replay runs' results (each hit names its run and model versions)")
    p.add_argument("--json", action="store_true", help="print the API's JSON")

    from newsops.modelcli import add_model_parser

    add_model_parser(sub)

    p = sub.add_parser("train", help="train a task's model on labelled data, evaluate it, register it",
                       description="Train the task's model (train -> evaluate -> register, the same "
                                   "state machine locally and on AWS). Data: JSON lines "
                                   '{"text": ..., "entities": [{"span": [start, end], "type": ...}]} '
                                   "(data/ner-ja-stockmark/README.md).")
    p.add_argument("task", help="task name in the task config, e.g. companies")
    p.add_argument("--data", type=Path, required=True, help="labelled JSON-lines file to train on")
    dev = p.add_mutually_exclusive_group()
    dev.add_argument("--dev", type=Path, help="labelled file scored after each epoch (never trained on)")
    dev.add_argument("--dev-fraction", type=float, metavar="F",
                     help="hold out this fraction of --data as dev, whole curid groups at a time")
    p.add_argument("--schedule", choices=["short", "full"], default="full",
                   help="short: a few epochs (about 3 minutes on 2 cores); full: the published model")
    p.add_argument("--epochs", type=int, help="override the schedule's epoch count")
    p.add_argument("--seed", type=int, default=0, help="same data + seed = same model (default 0)")
    p.add_argument("--promote", action="store_true",
                   help="promote the registered version to prod (only for a task with no prod model "
                        "yet; otherwise use `newsops model promote`, which compares first)")
    p.add_argument("--backend", choices=["local", "aws"], default="local",
                   help="local: worker processes here; aws: the deployed train state machine")

    p = sub.add_parser("evaluate", help="score a span task on labelled data (P/R/F1 per type)")
    p.add_argument("task", help="task name in the task config, e.g. companies")
    p.add_argument("--data", type=Path, required=True, help="labelled JSON-lines file")
    p.add_argument("--model", dest="model_version", metavar="VERSION",
                   help="registry version or stage (default: what the next run would load)")
    p.add_argument("--against-stock", action="store_true",
                   help="also score stock GiNZA (its Company entities) on the same texts")
    p.add_argument("--json", action="store_true", help="print the scores as JSON")

    p = sub.add_parser("status", help="recent runs, or one run's report")
    p.add_argument("run_id", nargs="?", help="a run id from the list (default: list recent runs)")
    p.add_argument("--limit", type=int, default=10, help="runs to list, newest first (default 10)")

    p = sub.add_parser("serve", help="status API and dashboard on 127.0.0.1 for the local data")
    p.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    p.add_argument("--host", default="127.0.0.1",
                   help="loopback address to bind (default 127.0.0.1; other interfaces are refused)")
    p.add_argument("--schedule", type=float, metavar="SECONDS",
                   help="also run the reaper and the verifier this often")

    p = sub.add_parser("verify", help="check runs and sources; print the verdict (exit 1 on problems)")
    p.add_argument("--json", action="store_true", help="print the verdict as JSON")
    p = sub.add_parser("reap", help="stop jobs whose run is over, orphaned, or over their limit")
    p.add_argument("--json", action="store_true", help="print what was stopped as JSON")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from newsops.local import ConfigurationError, setup_logging

    setup_logging(args.verbose)
    try:
        return _dispatch(args, parser)
    except ConfigurationError as exc:
        if args.verbose:
            import traceback

            traceback.print_exc()
        print(f"newsops {args.command}: configuration error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader went away (`newsops search --json | head`): what it did not read is not
        # wanted. Point stdout at /dev/null so the interpreter's final flush stays quiet.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:
        if exc.errno not in _DISK_FAULTS:
            raise
        if args.verbose:
            import traceback

            traceback.print_exc()
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"newsops {args.command}: cannot write {where}{exc.strerror or exc}"
              " (free space or make NEWSOPS_HOME writable, then run the command again)", file=sys.stderr)
        return 1


def _dispatch(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.command == "demo":
        from newsops.demo import run_demo

        return run_demo(articles=args.articles, chunk_size=args.chunk_size, seed=args.seed,
                        crawl_site=not args.no_crawl)
    if args.command == "ingest":
        return _ingest(args.file, args.batch_id)
    if args.command == "run":
        return _retry(args.retry) if args.retry else _run(args.key)
    if args.command == "model":
        from newsops.modelcli import model_command

        return model_command(args)
    if args.command == "train":
        from newsops.modeltrain import train_command

        return train_command(args)
    if args.command == "evaluate":
        from newsops.modeleval import evaluate_command

        return evaluate_command(args.task, args.data, version=args.model_version, as_json=args.json,
                                against_stock=args.against_stock)
    if args.command == "search":
        return _search(args)
    if args.command == "replay":
        return _replay(args)
    if args.command == "crawl":
        return _crawl(args.sources, args.budget)
    if args.command == "status":
        return _status(args.run_id, args.limit)
    if args.command == "serve":
        return _serve(args)
    if args.command in ("verify", "reap"):
        return _ops(args.command, as_json=args.json)
    parser.error(f"unknown command {args.command}")
    return 2


def _ingest(path: Path, batch_id: str | None) -> int:
    from newsops.local import local_runtime
    from newsops.summary import print_run_summary

    if not path.is_file():
        print(f"newsops ingest: no such file: {path}", file=sys.stderr)
        return 2
    name = batch_id or path.name.removesuffix(".gz").removesuffix(".jsonl")
    with local_runtime() as rt:
        key = keys.incoming(name, rt.clock.utcnow())
        with open(path, "rb") as src, rt.store.open_write(key) as dst:
            while block := src.read(1 << 20):
                dst.write(block)
        info = rt.store.head(key)
        assert info is not None
        return print_run_summary(rt, keys.run_id(key, info.etag))


def _run(key: str) -> int:
    from chalicelib.steps.ingest import ingest_object
    from newsops.local import local_runtime
    from newsops.summary import print_run_summary

    with local_runtime() as rt:
        info = rt.store.head(key)
        if info is None:
            print(f"newsops run: no object {key}", file=sys.stderr)
            return 2
        outcome = ingest_object(key, info.etag, rt, size=info.size)
        if outcome.status == "duplicate":
            print(f"run {outcome.run_id} already exists for this object (one run per object version)")
            run = rt.ledger.get_run(outcome.run_id or "")
            if run is not None and _resumable(rt, run):
                # It failed, or its orchestrator died: resume it, keeping the chunks it finished.
                print(f"it is {run.state} and not running: resuming it (`newsops run --retry {run.run_id}`)")
                return _retry_in(rt, run.run_id)
            if run is not None and run.state == "CLAIMED":
                wait = rt.settings.ingest_lease_s - (rt.clock.now() - run.updated)
                print(f"it is claimed but not started; if its ingest died, `newsops run {key}` "
                      f"takes it over in {max(wait, 0):.0f}s (NEWSOPS_INGEST_LEASE_S)")
        return print_run_summary(rt, outcome.run_id or "")


def _resumable(rt: object, run: object) -> bool:
    if getattr(run, "verdict", None) == "rejected":
        return False
    if getattr(run, "state", None) == "FAILED":
        return True
    if getattr(run, "state", None) != "RUNNING":
        return False
    execution = rt.workflow.describe(run.execution)  # type: ignore[attr-defined]
    return execution is None or execution.status != "RUNNING"


def _retry(run_id: str) -> int:
    from newsops.local import local_runtime

    with local_runtime() as rt:
        return _retry_in(rt, run_id)


def _retry_in(rt: object, run_id: str) -> int:
    from chalicelib.retry import RetryRefused, retry_run
    from newsops.summary import print_run_summary

    try:
        outcome = retry_run(run_id, rt)  # type: ignore[arg-type]
    except RetryRefused as exc:
        print(f"newsops run --retry: {exc}", file=sys.stderr)
        return 1
    print(outcome.describe())
    return print_run_summary(rt, run_id)  # type: ignore[arg-type]


def _replay(args: argparse.Namespace) -> int:
    from datetime import date

    from chalicelib.replay import ReplayError, replay
    from newsops.local import local_runtime

    try:
        date_from, date_to = date.fromisoformat(args.date_from), date.fromisoformat(args.date_to)
    except ValueError as exc:
        print(f"newsops replay: --from/--to: {exc} (expected YYYY-MM-DD)", file=sys.stderr)
        return 2
    with local_runtime() as rt:
        try:
            outcome = replay(rt, task=args.task, model_version=args.model_version,
                             date_from=date_from, date_to=date_to, source=args.source,
                             parallel=args.parallel, progress=lambda msg: print(msg, flush=True))
        except ReplayError as exc:
            print(f"newsops replay: {exc}", file=sys.stderr)
            return 2
    ok = len(outcome.items) - len(outcome.failed)
    print(f"replay of {outcome.task} {outcome.model_version}: {ok}/{len(outcome.items)} runs ok"
          + ("; search their results with `newsops search --replays`" if ok else ""))
    return 1 if outcome.failed else 0


def _search(args: argparse.Namespace) -> int:
    from chalicelib.search.api import InvalidSearchParams, parse_search_params, result_to_json
    from newsops.local import local_runtime

    names = ("q", "company", "category", "source", "language", "run_id", "date_from", "date_to",
             "similar_to", "size", "offset")
    params = {n: str(getattr(args, n)) for n in names if getattr(args, n) not in (None, "")}
    if args.facets:
        params["facets"] = "true"
    if args.replays:
        params["replays"] = "true"
    try:
        query = parse_search_params(params)
    except InvalidSearchParams as exc:
        print(f"newsops search: {exc}", file=sys.stderr)
        return 2
    with local_runtime() as rt:
        unknown = _unknown_search_name(rt, query)
        if unknown:
            print(f"newsops search: {unknown}", file=sys.stderr)
            return 1
        result = result_to_json(rt.search.search(query))
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0
    shown = len(result["hits"])
    line = f"{result['total']} articles ({result['took_ms']:.1f} ms)"
    if shown < result["total"]:
        line += (f"; showing {query.offset + 1}-{query.offset + shown}: --size N (up to 100) "
                 f"and --offset {query.offset + shown} for more")
    print(line)
    for hit in result["hits"]:
        companies = ", ".join(sorted({c.get("normalized") or c.get("name", "")
                                      for c in hit.get("companies") or []}))
        category = (hit.get("category") or {}).get("label") or "-"
        print(f"  {hit['id']}  [{category}]  {hit.get('title', '')}")
        print(f"      {hit.get('source') or ''}  {hit.get('published') or ''}  {companies}")
        if args.replays:
            versions = ", ".join(f"{t} {v}" for t, v in sorted((hit.get("models") or {}).items()))
            what = f"replay of {hit['replay_of']}" if hit.get("replay_of") else "production"
            print(f"      {what}: run {hit.get('run_id') or '-'}, models {versions or '-'}")
    for name, buckets in result["facets"].items():
        print(f"{name}: " + ", ".join(f"{b['key']} ({b['count']})" for b in buckets[:10]))
    return 0


def _unknown_search_name(rt: object, query: object) -> str | None:
    """A category no task can give, or an article that is not indexed, is a mistake to say,
    not an empty result."""
    category = getattr(query, "category", None)
    if category:
        known = sorted({str(label) for t in rt.tasks.tasks  # type: ignore[attr-defined]
                        if t.kind in ("zero-shot", "prototype", "text-classification")
                        for label in (t.options.get("labels") or {})})
        if known and category not in known:
            return f"unknown category {category!r}; the category task's labels: {', '.join(known)}"
    similar = getattr(query, "similar_to", None)
    if similar and rt.search.get(similar) is None:  # type: ignore[attr-defined]
        return f"no article {similar!r} in the index (ids are in `newsops search` hits)"
    return None


def _crawl(sources_file: Path | None, budget_s: float) -> int:
    from chalicelib.crawl.crawler import crawl
    from chalicelib.crawl.sources import load_sources
    from newsops.local import local_runtime
    from newsops.summary import print_crawl_summary, print_run_summary

    with local_runtime() as rt:
        report = crawl(rt, load_sources(sources_file or rt.settings.sources_file), budget_s=budget_s)
        print_crawl_summary(report)
        if not report.batch_key:
            return 0
        info = rt.store.head(report.batch_key)
        return print_run_summary(rt, keys.run_id(report.batch_key, info.etag)) if info else 1


def _status(run_id: str | None, limit: int) -> int:
    from chalicelib.api.status import run_attempts
    from newsops.local import local_runtime

    with local_runtime() as rt:
        if run_id:
            run = rt.ledger.get_run(run_id)
            if run is None:
                print(f"no run {run_id}", file=sys.stderr)
                return 1
            try:
                doc = json.loads(rt.store.get(keys.report(run_id)))
            except KeyError:
                doc = {"run_id": run.run_id, "state": run.state, "detail": run.detail}
            doc["attempts"] = [a.model_dump(exclude_none=True) for a in run_attempts(run)]
            print(json.dumps(doc, indent=2, ensure_ascii=False))
            if "verdict" in doc:
                from chalicelib.schema import RunReport
                from newsops.summary import cost_lines

                # Readable cost lines for a person; stdout stays one JSON document.
                report = RunReport.model_validate({k: v for k, v in doc.items() if k != "attempts"})
                print("\n".join(cost_lines(report)), file=sys.stderr)
            return 0
        print(f"{'created (UTC)':<19}  {'state':<9}  {'verdict':<8}  {'attempt':<7}  run id")
        for run in rt.ledger.list_runs(limit=limit):
            created = datetime.fromtimestamp(run.created, UTC).strftime("%Y-%m-%d %H:%M:%S")
            print(f"{created}  {run.state:<9}  {run.verdict or '-':<8}  {run.attempt:<7}  {run.run_id}")
        return 0


def _ops(command: str, *, as_json: bool = False) -> int:
    from chalicelib.ops.reaper import reap
    from chalicelib.ops.verifier import format_verdict, run_verifier
    from newsops.local import local_runtime
    from newsops.summary import format_reap

    with local_runtime() as rt:
        if command == "reap":
            outcome = reap(rt)
            print(json.dumps(outcome.to_doc(), indent=2, default=str) if as_json else format_reap(outcome))
            return 0
        verdict = run_verifier(rt)
        print(json.dumps(verdict.to_doc(), indent=2, default=str) if as_json else format_verdict(verdict))
        return 0 if verdict.verdict == "ok" else 1


def _serve(args: argparse.Namespace) -> int:
    import errno

    from newsops.local import ConfigurationError
    from newsops.serve import serve

    try:
        return serve(args.host, args.port, schedule_s=args.schedule)
    except ValueError as exc:  # a non-loopback host, or the AWS backend
        raise ConfigurationError(str(exc)) from exc
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ConfigurationError(f"port {args.port} on {args.host} is in use: pick another "
                                     "with --port") from exc
        raise


if __name__ == "__main__":
    sys.exit(main())
