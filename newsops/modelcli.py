"""``newsops model ...``: the model registry from the command line (push, promote, list)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def add_model_parser(sub: Any) -> None:
    p = sub.add_parser("model", help="the model registry: push a version, promote it to a stage, list")
    msub = p.add_subparsers(dest="model_command", required=True)
    mp = msub.add_parser("push", help="upload a model directory (or a package:<name> uri) as a version")
    mp.add_argument("source", nargs="?", help="model directory, or package:<python package>")
    mp.add_argument("--source", dest="source_opt", help=argparse.SUPPRESS)
    mp.add_argument("--task", required=True)
    mp.add_argument("--version", required=True)
    mp.add_argument("--metrics", help='JSON object of evaluation figures, e.g. \'{"f1": 0.91}\'')
    mr = msub.add_parser("promote", help="point a stage (prod|staging) at a version")
    mr.add_argument("task_pos", nargs="?", metavar="TASK")
    mr.add_argument("version_pos", nargs="?", metavar="VERSION")
    mr.add_argument("--task")
    mr.add_argument("--version")
    mr.add_argument("--stage", choices=["prod", "staging"], default="prod")
    ml = msub.add_parser("list", help="versions of a task and where its stages point")
    ml.add_argument("task")


def model_command(args: argparse.Namespace) -> int:
    from chalicelib import registry
    from chalicelib.factory import build_store
    from chalicelib.settings import Settings

    store = build_store(Settings())
    try:
        if args.model_command == "push":
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
        elif args.model_command == "promote":
            task, version = args.task or args.task_pos, args.version or args.version_pos
            if not task or not version:
                print("newsops model promote: give TASK and VERSION", file=sys.stderr)
                return 2
            from newsops.modeleval import compare_lines

            current = registry.stage_pointer(store, task, args.stage)
            print("\n".join(compare_lines(store, task, version, current.version if current else None)))
            pointer = registry.promote(store, task, version, args.stage)
            print(json.dumps(pointer.model_dump(mode="json"), indent=2))
        else:
            from newsops.modeleval import version_lines

            print("\n".join(version_lines(store, args.task)))
    except (registry.RegistryError, ValueError) as exc:
        print(f"newsops model {args.model_command}: {exc}", file=sys.stderr)
        return 1
    return 0
