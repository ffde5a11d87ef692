"""Re-checks a finished run's outputs long after its own verify step: objects get deleted, indexes lose data.

Same rules as ``chalicelib.steps.verify`` (every chunk x task result exists, record counts add up
with quarantine, the index holds the run's documents), but structured, so the verifier can
tell one problem from another, and tolerant of one thing the end-of-run check never meets:
a later run that re-indexed the same articles (upsert by article id) moves them to its run id.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chalicelib.contract import keys
from chalicelib.contract.schema import RunManifest
from chalicelib.ledger.base import RunRecord
from chalicelib.resultaudit import audit_results
from chalicelib.runtime import Runtime


@dataclass
class RunAudit:
    run_id: str
    missing: list[str] = field(default_factory=list)  # result keys
    miscounted: list[str] = field(default_factory=list)  # human-readable, with the key
    index_shortfall: int = 0
    indexed: int = 0
    expected_indexed: int = 0
    superseded: int = 0  # documents a later run may have taken over
    results_expected: int = 0
    manifest_missing: bool = False

    @property
    def problems(self) -> list[str]:
        out = [f"missing result {k}" for k in self.missing] + list(self.miscounted)
        if self.manifest_missing:
            out.insert(0, f"manifest {keys.manifest(self.run_id)} is missing")
        if self.index_shortfall:
            out.append(f"index holds {self.indexed} documents of this run, expected {self.expected_indexed}")
        return out


def audit_run(run: RunRecord, rt: Runtime, *, later_indexed: int = 0) -> RunAudit:
    """``later_indexed``: documents indexed by runs created after this one (they may overlap it)."""
    audit = RunAudit(run.run_id)
    try:
        manifest = RunManifest.model_validate_json(rt.store.get(keys.manifest(run.run_id)))
    except KeyError:
        audit.manifest_missing = True
        return audit
    for task in audit_results(rt.store, manifest).values():
        audit.results_expected += task.chunks
        audit.missing += [m.key for m in task.missing]
        audit.miscounted += task.problems
    index = run.detail.get("index") or {}
    if "indexed" in index:
        audit.expected_indexed = int(index["indexed"])
        audit.indexed = rt.search.count(run_id=run.run_id)
        shortfall = max(0, audit.expected_indexed - audit.indexed)
        audit.superseded = min(shortfall, later_indexed)
        audit.index_shortfall = shortfall - audit.superseded
    return audit
