"""The job-side builder: the one adapter a batch job needs, its object store, from the
environment the job definition (or the local compute) gives it.

The job does not build a whole runtime (ledger, workflow, search: the Lambdas' business), so
it never imports the composition root (chalicelib.factory) or the Lambda settings.
"""

from __future__ import annotations

import os
from pathlib import Path

from chalicelib.store.base import ObjectStore

DEFAULT_HOME = ".newsops"  # chalicelib.settings.Settings.home: the same default, locally


class JobConfigError(ValueError):
    """The job's environment does not say where its objects are."""


def job_store(environ: dict[str, str] | None = None) -> ObjectStore:
    env = os.environ if environ is None else environ
    backend = env.get("NEWSOPS_BACKEND", "local")
    if backend == "local":
        from chalicelib.store.local import LocalObjectStore

        return LocalObjectStore(Path(env.get("NEWSOPS_HOME") or DEFAULT_HOME).resolve() / "store")
    if backend == "aws":
        bucket = env.get("NEWSOPS_BUCKET", "")
        if not bucket:
            raise JobConfigError("NEWSOPS_BUCKET is not set: the job definition must name the data bucket")
        from chalicelib.aws import client
        from chalicelib.store.s3 import S3ObjectStore

        return S3ObjectStore(bucket, client("s3"))
    raise JobConfigError(f"NEWSOPS_BACKEND must be local or aws, not {backend!r}")
