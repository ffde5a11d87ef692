"""What a push to main changed, for deploy.yml: does the batch image need a rebuild, which
tasks' models need publishing. Standard library only (runs before any venv exists).

Prints GitHub step outputs: ``image=true|false`` and ``models=<task>,<task>`` (empty: none).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

# The image is built from the repository root and carries chalicelib's contracts.
IMAGE_PATHS = ("batch_container/", "chalicelib/", "pyproject.toml", "constraints.txt")
TASKS_FILE = "chalicelib/config/tasks.json"


def git(*args: str) -> str:
    return subprocess.run(["git", *args], check=True, capture_output=True, text=True).stdout


def _tasks_at(commit: str) -> dict[str, tuple[str, str]]:
    try:
        doc = json.loads(git("show", f"{commit}:{TASKS_FILE}"))
    except (subprocess.CalledProcessError, ValueError):
        return {}
    return {t["name"]: (t.get("model", ""), t.get("model_version", "")) for t in doc.get("tasks", [])}


def changed_models(before: str | None, after: str) -> list[str]:
    """Tasks whose model or model version differs from the previous push (all on a first push)."""
    new = _tasks_at(after)
    old = _tasks_at(before) if before else {}
    return sorted(name for name, model in new.items() if old.get(name) != model)


def image_changed(paths: list[str]) -> bool:
    return any(p.startswith(IMAGE_PATHS) for p in paths)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--before", default="")
    p.add_argument("--after", default="HEAD")
    p.add_argument("--force-image", default="false")
    args = p.parse_args(argv)
    before = args.before if args.before and set(args.before) != {"0"} else None
    if before:
        try:
            paths = git("diff", "--name-only", before, args.after).split()
        except subprocess.CalledProcessError:  # force-push: the old commit is gone
            before, paths = None, []
    image = args.force_image == "true" or before is None or image_changed(paths)
    print(f"image={'true' if image else 'false'}")
    print(f"models={','.join(changed_models(before, args.after))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
