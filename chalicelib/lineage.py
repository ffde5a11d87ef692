"""What produced an output: the code version and the job image recorded in every run manifest
and in every result object's metadata.

On AWS both come from the deploy: ``make deploy`` sets NEWSOPS_CODE_VERSION (the git commit)
and NEWSOPS_IMAGE (the batch image, ``<ECR repository>@sha256:<digest>``, stack output
BatchImageUri) in every Lambda's environment; the job definitions set NEWSOPS_IMAGE to the
image they run, and the image itself carries NEWSOPS_CODE_VERSION (a build argument, see
batch_container/Dockerfile). Locally there is no image: the job runs in this checkout's
interpreter, and the image is recorded as ``local:python<major>.<minor>:<code version>``. On
AWS without NEWSOPS_IMAGE (a stack deployed by hand from an older template) it is
``unrecorded:<code version>``: never a local-looking name for a cloud run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

IMAGE_ENV = "NEWSOPS_IMAGE"
CODE_VERSION_ENV = "NEWSOPS_CODE_VERSION"
LOCAL_IMAGE_PREFIX = "local:"


@lru_cache(maxsize=1)
def code_version() -> str:
    """The deployed build's version (set by CI/CD), else the git commit of a checkout."""
    env = os.environ.get(CODE_VERSION_ENV)
    if env:
        return env
    root = Path(__file__).resolve().parents[1]
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"],
                             capture_output=True, text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return f"{out}-dirty" if dirty else out
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def image_ref() -> str:
    """The batch image jobs run: NEWSOPS_IMAGE where the deploy set it, else this interpreter
    and code version (a local run has no image, and says so rather than recording nothing)."""
    env = os.environ.get(IMAGE_ENV, "").strip()
    if env:
        return env
    if os.environ.get("NEWSOPS_BACKEND", "local") == "aws":
        return f"unrecorded:{code_version()}"
    return f"{LOCAL_IMAGE_PREFIX}python{sys.version_info.major}.{sys.version_info.minor}:{code_version()}"
