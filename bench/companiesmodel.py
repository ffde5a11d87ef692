"""The companies model the benchmarks load, as a batch job loads it.

The shipped config's ``companies`` task names ``registry:companies``: the registry's prod model
under ``NEWSOPS_HOME`` when it has one; else a model trained on the short schedule from the
shipped training split, once, and kept in bench/data/companies-short/ (git-ignored) so that
later runs measure instead of training again. Throughput does not depend on how well it was
trained; the model's quality is measured by ``newsops train`` (docs/models.md).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from chalicelib.contract.schema import TaskSpec

REPO = Path(__file__).resolve().parents[1]
TRAIN = REPO / "data" / "ner-ja-stockmark" / "train.jsonl"
CACHE = REPO / "bench" / "data" / "companies-short"
CACHED_VERSION = "bench-short (trained once into bench/data/companies-short)"


def companies_runner(spec: TaskSpec, cache_root: Path) -> tuple[Any, str]:
    """The ``char-ner`` runner of ``spec`` and the version of the model it loaded."""
    from newsops_batch.modelpath import ModelRef
    from newsops_batch.tasks import JobContext, load_runner

    from chalicelib import registry
    from chalicelib.factory import build_store
    from chalicelib.settings import Settings

    store = build_store(Settings())
    task = registry.registry_task(spec.model) or "companies"
    if registry.stage_pointer(store, task, "prod") is not None:
        resolved = registry.resolve(store, task, "prod")
        ref = ModelRef(uri=spec.model, version=resolved.version, sha256=resolved.manifest_sha256,
                       resolved=resolved, store=store)
        return load_runner(spec, JobContext(store=store, model=ref, cache_root=cache_root)), resolved.version
    local = TaskSpec(**{**spec.model_dump(), "model": str(short_model()), "model_version": "bench-short"})
    return load_runner(local, JobContext()), CACHED_VERSION


def short_model() -> Path:
    """bench/data/companies-short, trained here the first time (a few minutes on two cores)."""
    if CACHE.is_dir():
        return CACHE
    from newsops_batch.charner import training
    from newsops_batch.labelled import load

    print("no prod companies model in NEWSOPS_HOME and none kept in bench/data: training one "
          "(short schedule, once)", flush=True)
    partial = CACHE.with_name(CACHE.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    training.train(load(TRAIN), None, partial, schedule="short")
    partial.rename(CACHE)  # only a finished model takes the name
    return CACHE
