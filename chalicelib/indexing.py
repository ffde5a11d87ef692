"""The index step: bulk-index a run's merged documents and record what was and was not indexed."""

from __future__ import annotations

import logging
from typing import Any

from chalicelib import keys
from chalicelib.documents import iter_documents
from chalicelib.factory import Runtime
from chalicelib.schema import RunManifest

log = logging.getLogger("newsops.index")
_MAX_FAILURES_KEPT = 100


def index_run(run_id: str, rt: Runtime) -> dict[str, Any]:
    started = rt.clock.now()
    manifest = RunManifest.model_validate_json(rt.store.get(keys.manifest(run_id)))
    outcome = rt.search.index(iter_documents(rt.store, manifest))
    rt.ledger.update_run(run_id, detail={
        "t_index_start": started, "t_index_end": rt.clock.now(),
        "index": {"indexed": outcome.indexed, "failed": len(outcome.failed),
                  "retried": outcome.retried, "failures": outcome.failed[:_MAX_FAILURES_KEPT]}})
    log.info("run %s: %d documents indexed, %d failed", run_id, outcome.indexed, len(outcome.failed))
    return {"run_id": run_id, "indexed": outcome.indexed, "failed": len(outcome.failed)}
