"""``newsops model ...``: the model registry from the command line.

push, list; compare (two versions on the same inputs); promote (gated: a candidate that scores
worse than prod on the registered evaluation data is refused unless ``--force --reason``);
rollback; history (who moved which stage, when and why); eval-data (the gate's labelled file).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from chalicelib.clock import Clock

_PROGRESS_EVERY_S = 5.0


def add_model_parser(sub: Any) -> None:
    p = sub.add_parser("model", help="the model registry: push, compare, promote (gated), rollback, history")
    msub = p.add_subparsers(dest="model_command", required=True)
    mp = msub.add_parser("push", help="upload a model directory (or a package:<name> uri) as a version")
    mp.add_argument("source", nargs="?", help="model directory, or package:<python package>")
    mp.add_argument("--source", dest="source_opt", help=argparse.SUPPRESS)
    mp.add_argument("--task", required=True, help="task the version belongs to, e.g. companies")
    mp.add_argument("--version", required=True,
                    help="version name, unique within the task (letters, digits, . _ -)")
    mp.add_argument("--metrics", help='JSON object of evaluation figures, e.g. \'{"f1": 0.91}\'')

    mr = msub.add_parser("promote", help="point a stage (prod|staging) at a version; prod is gated",
                         description="Point a stage at a version. For prod, the candidate is scored "
                                     "against the current prod on the task's registered evaluation "
                                     "data and refused (exit 1) if it scores worse, unless --force "
                                     "--reason TEXT.")
    mr.add_argument("task_pos", nargs="?", metavar="TASK", help="task name, e.g. companies")
    mr.add_argument("version_pos", nargs="?", metavar="VERSION",
                    help="the version to promote (see `newsops model list TASK`)")
    mr.add_argument("--task", help="the same as TASK")
    mr.add_argument("--version", help="the same as VERSION")
    mr.add_argument("--stage", choices=["prod", "staging"], default="prod",
                    help="stage to point at the version (default prod, the gated one)")
    mr.add_argument("--force", action="store_true",
                    help="promote even if the gate refuses (needs --reason)")
    _who_why(mr)

    mb = msub.add_parser("rollback", help="restore the previous version of a stage (from its history)")
    mb.add_argument("task", help="task name, e.g. companies")
    mb.add_argument("--stage", choices=["prod", "staging"], default="prod",
                    help="stage to move back to its previous version (default prod)")
    _who_why(mb)

    mh = msub.add_parser("history", help="every promotion and rollback: who, when, why")
    mh.add_argument("task", help="task name, e.g. companies")
    mh.add_argument("--stage", choices=["prod", "staging"], help="only this stage's moves")
    mh.add_argument("--json", action="store_true", help="print the history as JSON")

    me = msub.add_parser("eval-data", help="register the labelled file promotions are scored on "
                                           "(without FILE: show it)")
    me.add_argument("task", help="task name, e.g. companies")
    me.add_argument("file", nargs="?", type=Path, help='labelled JSON lines {"text", "entities"}')
    me.add_argument("--by", help="who registers it (default: NEWSOPS_ACTOR, else the OS user)")

    mc = msub.add_parser("compare", help="run two versions on the same inputs and report their agreement")
    mc.add_argument("task", help="task name, e.g. companies")
    mc.add_argument("candidate", help="registry version (or stage) of the candidate")
    mc.add_argument("--against", default="prod", help="version or stage to compare with (default prod)")
    src = mc.add_mutually_exclusive_group(required=True)
    src.add_argument("--run", dest="run_id", metavar="RUN_ID", help="the chunks of this run")
    src.add_argument("--data", type=Path, metavar="FILE",
                     help="labelled JSON lines: agreement and both versions' scores")
    mc.add_argument("--limit-chunks", type=int, metavar="N", help="only the run's first N chunks")
    mc.add_argument("--json", action="store_true", help="print the agreement report as JSON")

    ml = msub.add_parser("list", help="versions of a task and where its stages point")
    ml.add_argument("task", help="task name in the task config, e.g. companies")


def _who_why(p: argparse.ArgumentParser) -> None:
    p.add_argument("--reason", default="", help="why (kept in the stage history)")
    p.add_argument("--by", help="who (default: NEWSOPS_ACTOR, else the OS user)")


def run_model(argv: list[str], *, clock: Clock | None = None) -> int:
    """``newsops model ARGV`` with a given clock (tests; the CLI uses the runtime's)."""
    parser = argparse.ArgumentParser(prog="newsops")
    add_model_parser(parser.add_subparsers(dest="command", required=True))
    return model_command(parser.parse_args(["model", *argv]), clock=clock)


def _unknown_task(args: argparse.Namespace) -> str | None:
    """A task the config does not have is a typo to point out, not an empty listing. (``push``
    may register a version for a task not configured yet.)"""
    task = getattr(args, "task", None) or getattr(args, "task_pos", None)
    if args.model_command == "push" or not task:
        return None
    from chalicelib.contract.taskconfig import load_tasks
    from chalicelib.settings import Settings

    try:
        names = [t.name for t in load_tasks(Settings().tasks_file).tasks]
    except Exception:  # noqa: BLE001 - a broken config is reported by the command itself
        return None
    if task in names:
        return None
    return f"unknown task {task!r}; the task config has: {', '.join(names)}"


def model_command(args: argparse.Namespace, *, clock: Clock | None = None) -> int:
    from chalicelib import registry

    name = f"newsops model {args.model_command}"
    if args.model_command == "promote" and args.force and not args.reason.strip():
        print(f"{name}: --force needs --reason TEXT (kept in the history with who and when)",
              file=sys.stderr)
        return 2
    if args.model_command == "compare" and args.limit_chunks is not None and args.limit_chunks < 1:
        print(f"{name}: --limit-chunks must be at least 1", file=sys.stderr)
        return 2
    unknown = _unknown_task(args)
    if unknown:
        print(f"{name}: {unknown}", file=sys.stderr)
        return 2
    try:
        if args.model_command in ("push", "list"):
            return _store_only(args)
        from newsops.local import local_runtime

        with local_runtime() as rt:
            now = clock or rt.clock
            if args.model_command == "promote":
                return _promote(rt, args, now)
            if args.model_command == "rollback":
                pointer = registry.rollback(rt.store, args.task, args.stage, reason=args.reason,
                                            by=args.by, clock=now)
                print(f"{args.task} {args.stage}: rolled back from {pointer.previous} to "
                      f"{pointer.version} (by {pointer.by}, {pointer.promoted:%Y-%m-%d %H:%M:%S} UTC)")
                return 0
            if args.model_command == "history":
                return _history(rt.store, args)
            if args.model_command == "eval-data":
                return _eval_data(rt.store, args, now)
            return _compare(rt, args)
    except (registry.RegistryError, ValueError) as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 1


def _store_only(args: argparse.Namespace) -> int:
    from chalicelib import registry
    from chalicelib.factory import build_store
    from chalicelib.settings import Settings

    store = build_store(Settings())
    if args.model_command == "list":
        from newsops.modeleval import version_lines

        print("\n".join(version_lines(store, args.task)))
        return 0
    source = args.source or args.source_opt
    if not source:
        print("newsops model push: give a model directory or package:<name>", file=sys.stderr)
        return 2
    from newsops_batch.errors import PermanentError
    from newsops_batch.modelpath import resolve_model_dir

    try:
        directory = resolve_model_dir(source) if ":" in source and not Path(source).exists() \
            else Path(source)
    except PermanentError as exc:
        raise registry.RegistryError(str(exc)) from None
    metrics = json.loads(args.metrics) if args.metrics else None
    resolved = registry.push_model(store, directory, task=args.task, version=args.version,
                                   source=source, metrics=metrics)
    print(json.dumps(registry.manifest_summary(resolved), indent=2))
    return 0


def _promote(rt: Any, args: argparse.Namespace, clock: Clock) -> int:
    from chalicelib import registry
    from newsops import modelgate
    from newsops.modeleval import compare_lines

    task, version = args.task or args.task_pos, args.version or args.version_pos
    if not task or not version:
        print("newsops model promote: give TASK and VERSION", file=sys.stderr)
        return 2
    current = registry.stage_pointer(rt.store, task, args.stage)
    if current is not None and current.version == version:
        registry.read_manifest(rt.store, task, version)  # still there and readable
        print(f"{task}/{version} is already {args.stage}: nothing to do")
        return 0
    print("\n".join(compare_lines(rt.store, task, version, current.version if current else None)))
    decision = modelgate.check(rt.store, rt.tasks, task, version, args.stage)
    if not decision.passed and not args.force:
        print(f"newsops model promote: refused: {decision.message}", file=sys.stderr)
        if decision.candidate is not None:
            print(f"  promote it anyway with: newsops model promote {task} {version} --force "
                  "--reason TEXT", file=sys.stderr)
        return 1
    print(("gate: " if decision.passed else "gate refused, forced: ") + decision.message)
    pointer = registry.promote(rt.store, task, version, args.stage, reason=args.reason, by=args.by,
                               clock=clock, forced=not decision.passed, gate=decision.record())
    print(json.dumps(pointer.model_dump(mode="json"), indent=2))
    return 0


def history_lines(events: list[Any]) -> list[str]:
    width = max([len("version"), *(len(e.version) for e in events), *(len(e.previous or "") for e in events)])
    out = [f"{'#':>3}  {'when (UTC)':<19}  {'stage':<7} {'action':<16} {'version':<{width}}  "
           f"{'was':<{width}}  by: why; gate"]
    for e in events:
        action = e.action + (" (forced)" if e.forced else "")
        gate = e.gate or {}
        scores = ""
        if gate.get("candidate") and gate.get("production"):
            scores = (f"; {gate.get('metric', 'score')}: {gate['candidate']['f1']:.4f} vs "
                      f"{gate['production']['f1']:.4f} on {gate.get('data_file', '?')}")
        elif gate.get("message") and not gate.get("passed", True):
            scores = f"; gate: {gate['message']}"
        out.append(f"{e.seq:>3}  {e.at:%Y-%m-%d %H:%M:%S}  {e.stage:<7} {action:<16} {e.version:<{width}}  "
                   f"{e.previous or '-':<{width}}  {e.by or '?'}: {e.reason or '(no reason given)'}{scores}")
    if len(out) == 1:
        out.append("(no promotions yet)")
    return out


def _history(store: Any, args: argparse.Namespace) -> int:
    from chalicelib import registry

    events = registry.history(store, args.task, args.stage)
    if args.json:
        print(json.dumps([e.model_dump(mode="json") for e in events], ensure_ascii=False, indent=2))
    else:
        print("\n".join(history_lines(events)))
    return 0


def _eval_data(store: Any, args: argparse.Namespace, clock: Clock) -> int:
    from newsops_batch.labelled import LabelledDataError, load

    from chalicelib import registry

    if args.file is None:
        record = registry.evaluation_data(store, args.task)
        if record is None:
            print(f"no evaluation data for {args.task}: `newsops model eval-data {args.task} FILE` "
                  "registers one")
            return 0
        print(json.dumps(record.model_dump(mode="json"), ensure_ascii=False, indent=2))
        return 0
    try:
        labelled = load(args.file)
    except LabelledDataError as exc:
        print(f"newsops model eval-data: {exc}", file=sys.stderr)
        return 2
    record = registry.set_evaluation_data(store, args.task, args.file.read_bytes(),
                                          file=args.file.name, texts=len(labelled.texts),
                                          source="newsops model eval-data", by=args.by, clock=clock)
    print(f"evaluation data of {args.task}: {record.file} ({record.texts} texts, sha256 "
          f"{record.sha256[:12]}…), stored as {record.key}")
    return 0


class _ChunkProgress:
    """One line on stderr every few seconds and at the end (a comparison of a long run)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.started = time.monotonic()
        self.last = 0.0

    def __call__(self, done: int, items: int) -> None:
        now = time.monotonic()
        if done < self.total and now - self.last < _PROGRESS_EVERY_S:
            return
        self.last = now
        print(f"  compared {done}/{self.total} chunks, {items} articles, {now - self.started:.0f}s",
              file=sys.stderr, flush=True)


def _compare(rt: Any, args: argparse.Namespace) -> int:
    from newsops import modelcompare as mc

    try:
        spec = mc.resolve_spec(rt.tasks.tasks, args.task)
        evaluation = None
        if args.data is not None:
            from newsops_batch.labelled import LabelledDataError, load

            try:
                labelled = load(args.data)
            except LabelledDataError as exc:
                print(f"newsops model compare: {exc}", file=sys.stderr)
                return 2
            if spec.kind not in mc.EVALUATED_KINDS:
                raise mc.CompareError(f"task {spec.name} is of kind {spec.kind}: --data scores span "
                                      f"tasks ({', '.join(mc.EVALUATED_KINDS)}); use --run")
            batches = iter([mc.labelled_items(labelled)])
            inputs = {"source": f"{args.data} ({len(labelled.texts)} labelled texts)",
                      "data": str(args.data), "data_sha256": labelled.sha256}
            progress = None
        else:
            manifest = mc.read_run(rt.store, args.run_id)
            chunks = manifest.chunks[:args.limit_chunks]
            batches = mc.run_chunks(rt.store, manifest, args.limit_chunks)
            inputs = {"source": f"run {manifest.run_id} ({len(chunks)} of {len(manifest.chunks)} chunks)",
                      "run_id": manifest.run_id, "chunks": len(chunks), "run_chunks": len(manifest.chunks)}
            progress = _ChunkProgress(len(chunks))
        report = mc.compare(rt.store, spec, args.candidate, args.against, batches, inputs=inputs,
                            progress=progress)
        if args.data is not None:
            evaluation = mc.evaluate_both(rt.store, spec, labelled, args.candidate, args.against)
            report.evaluation = evaluation
    except mc.CompareError as exc:
        print(f"newsops model compare: {exc}", file=sys.stderr)
        return 1
    out = report.as_dict()
    if args.json:
        print(json.dumps(out, ensure_ascii=False, indent=2))
        return 0
    print("\n".join(mc.report_lines(out)))
    if evaluation is not None:
        from newsops.modeleval import format_scores

        print(format_scores(evaluation["candidate"], f"candidate on {args.data}"))
        print(format_scores(evaluation["baseline"], f"{args.against} on {args.data}"))
    return 0
