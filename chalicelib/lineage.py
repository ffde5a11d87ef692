"""What produced an output: the code version recorded in every run manifest."""

from __future__ import annotations

import os
import subprocess
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def code_version() -> str:
    """The deployed build's version (set by CI/CD), else the git commit of a checkout."""
    env = os.environ.get("NEWSOPS_CODE_VERSION")
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
