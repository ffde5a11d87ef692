"""A local (or EFS-mounted) cache of registry models, safe for many jobs at once.

Each job downloads into its own unique scratch directory beside the cache entry, verifies every
file's sha256 against the manifest, and publishes the whole directory with one ``rename``: a
concurrent job sees either no model or a complete, verified one, never half of one (lesson 1
of docs/design.md §5). A corrupt download is refused with the file that failed.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
import uuid
from pathlib import Path

from chalicelib.registry import CorruptModel, ResolvedModel, download, verify_dir
from chalicelib.store.base import ObjectStore
from newsops_batch.errors import PermanentError

log = logging.getLogger("newsops.batch.modelcache")

MARKER = ".newsops-manifest-sha256"  # inside a published entry: which manifest it was checked against
_STALE_SCRATCH_S = 24 * 3600


def default_cache_root() -> Path:
    env = os.environ.get("NEWSOPS_MODEL_CACHE")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "newsops" / "models"


def fetch(store: ObjectStore, resolved: ResolvedModel, root: Path | None = None) -> Path:
    """The local directory of a registry model, downloading and verifying it when needed."""
    root = Path(root or default_cache_root())
    task_dir = root / resolved.task
    final = task_dir / resolved.version
    if _published(final) == resolved.manifest_sha256:
        return final
    task_dir.mkdir(parents=True, exist_ok=True)
    _sweep_stale_scratch(task_dir)
    if final.exists():
        # Versions are immutable, so a different manifest under the same name means a broken
        # cache entry (a crash before this design, a hand edit): move it aside, never load it.
        log.warning("cache entry %s does not match manifest %s…: replacing it", final,
                    resolved.manifest_sha256[:12])
        aside = task_dir / f".stale-{resolved.version}-{uuid.uuid4().hex}"
        try:
            os.rename(final, aside)
        except FileNotFoundError:
            pass  # another job moved it first
        shutil.rmtree(aside, ignore_errors=True)
    scratch = task_dir / f".tmp-{resolved.version}-{os.getpid()}-{uuid.uuid4().hex}"
    scratch.mkdir()
    started = time.time()
    try:
        download(store, resolved, scratch)
        (scratch / MARKER).write_text(resolved.manifest_sha256)
        try:
            os.rename(scratch, final)
        except OSError:
            # Another job published the same version first; its copy is verified too.
            if _published(final) != resolved.manifest_sha256:
                raise
            log.info("model %s/%s was published by a concurrent job", resolved.task, resolved.version)
    except CorruptModel as exc:
        raise PermanentError(str(exc)) from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    log.info("model %s/%s (%d files, %.1f MB) downloaded and verified in %.1fs", resolved.task,
             resolved.version, len(resolved.manifest.files), resolved.manifest.total_bytes / 1e6,
             time.time() - started)
    return final


def verify_cached(resolved: ResolvedModel, root: Path | None = None) -> list[str]:
    """Re-hash a cached copy (``newsops model verify``, or a job that distrusts its cache)."""
    final = Path(root or default_cache_root()) / resolved.task / resolved.version
    return verify_dir(final, resolved.manifest)


def _published(final: Path) -> str | None:
    try:
        return (final / MARKER).read_text().strip()
    except (FileNotFoundError, NotADirectoryError):
        return None


def _sweep_stale_scratch(task_dir: Path) -> None:
    """Scratch left by a killed job: old enough that no live download can own it."""
    now = time.time()
    for entry in task_dir.glob(".tmp-*"):
        try:
            if now - entry.stat().st_mtime > _STALE_SCRATCH_S:
                shutil.rmtree(entry, ignore_errors=True)
        except FileNotFoundError:
            continue
