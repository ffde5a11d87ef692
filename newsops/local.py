"""Opening the local runtime for a CLI command: settings, logging, progress."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import ValidationError

from chalicelib.factory import build_runtime
from chalicelib.runtime import Runtime, set_runtime
from chalicelib.settings import Settings
from newsops.progress import JobProgress


class ConfigurationError(Exception):
    """The environment or the command line names something that cannot work: a bad setting, a
    home that cannot be written, a port in use. One line for the person, exit code 2."""


def settings_from_env(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(f"NEWSOPS_{'_'.join(map(str, e['loc'])).upper()}: "
                             f"{e['msg'].removeprefix('Value error, ')}"
                             + (f" (got {e['input']!r})" if isinstance(e.get("input"), str | int | float) else "")
                             for e in exc.errors())
        raise ConfigurationError(problems) from exc


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
    settings = settings_from_env(**overrides)
    import app

    try:
        rt = build_runtime(settings, handlers=app.local_handlers())
    except OSError as exc:
        where = exc.filename or settings.home
        raise ConfigurationError(f"NEWSOPS_HOME: cannot use {where}: {exc.strerror or exc}") from exc
    previous = set_runtime(rt)
    progress = JobProgress()
    rt.compute.on_progress = progress  # type: ignore[attr-defined]
    try:
        with progress:
            yield rt
    finally:
        rt.close()
        set_runtime(previous)
