"""Opening the local runtime for a CLI command: settings, logging, progress."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from chalicelib.factory import Runtime, build_runtime, set_runtime
from chalicelib.settings import Settings
from newsops.progress import JobProgress


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s", datefmt="%H:%M:%S")


@contextmanager
def local_runtime(**overrides: object) -> Iterator[Runtime]:
    """The runtime the app's handlers will use in this process, with job progress shown."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    repo_root = Path(__file__).resolve().parents[1]
    if str(repo_root) not in sys.path:
        sys.path.insert(0, str(repo_root))  # app.py lives at the repository root
    settings = Settings(**overrides)  # type: ignore[arg-type]
    rt = build_runtime(settings)
    previous = set_runtime(rt)
    progress = JobProgress()
    rt.compute.on_progress = progress  # type: ignore[attr-defined]
    try:
        with progress:
            yield rt
    finally:
        rt.close()
        set_runtime(previous)
