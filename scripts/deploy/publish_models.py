"""Publish the models of the given tasks to the stage's registry (S3 models/<task>/<version>/)
with the project's registry command, then point the stage at them.

    newsops model push --task <task> --version <model_version> --source <model uri>
    newsops model promote --task <task> --version <model_version> --stage <stage>

run with NEWSOPS_BACKEND=aws and NEWSOPS_BUCKET of the stage (from the stack outputs).
Rolling a model back is `newsops model promote` of the previous version (docs/deploy.md).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from chalicelib.contract.taskconfig import load_tasks
from scripts.deploy.layout import TASKS_FILE

PUSH = ["model", "push", "--task", "{task}", "--version", "{version}", "--source", "{source}"]
PROMOTE = ["model", "promote", "--task", "{task}", "--version", "{version}", "--stage", "{stage}"]


def commands(tasks: list[str], stage: str, tasks_file: Path = TASKS_FILE) -> list[list[str]]:
    config = load_tasks(tasks_file)
    out = []
    for name in tasks:
        t = config.get(name)
        values = {"task": t.name, "version": t.model_version, "source": t.model, "stage": stage}
        out.append([a.format(**values) for a in PUSH])
        out.append([a.format(**values) for a in PROMOTE])
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--stage", required=True)
    p.add_argument("--tasks", default="", help="comma-separated task names")
    p.add_argument("--app", default="newsops")
    p.add_argument("--dry-run", action="store_true")
    args = p.parse_args(argv)
    tasks = [t for t in args.tasks.split(",") if t]
    if not tasks:
        print("no model changed")
        return 0
    env = dict(os.environ, NEWSOPS_BACKEND="aws", NEWSOPS_STAGE=args.stage)
    if not args.dry_run:
        from scripts.deploy.deploy import outputs_of, session, stack_status

        s = session()
        outputs = outputs_of(stack_status(s.client("cloudformation"), f"{args.app}-{args.stage}") or {})
        env["NEWSOPS_BUCKET"] = outputs["DataBucketName"]
    newsops = str(Path(sys.executable).parent / "newsops")
    for cmd in commands(tasks, args.stage):
        print("+ newsops " + " ".join(cmd))
        if not args.dry_run:
            subprocess.run([newsops, *cmd], check=True, env=env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
