"""The promotion gate: a candidate may replace production only if it scores no worse on the
task's registered evaluation data (``newsops model eval-data``, or ``newsops train``'s dev split).

The score is exact-span F1 over the types the task emits (法人名 for ``companies``), pooled from
the per-type counts. When both model cards were scored on exactly that file (their
``evaluation.data_sha256``), their counts are used; otherwise both versions are evaluated now,
with the code of ``newsops evaluate`` (``newsops_batch.taskeval``), so the two figures always come
from one procedure. Only ``prod`` is gated: ``staging`` is where candidates go to be tried.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from chalicelib import registry
from chalicelib.contract import modeluri
from chalicelib.contract.schema import TaskConfig, TaskSpec
from chalicelib.store.base import ObjectStore

GATED_STAGE = "prod"
SPAN_KINDS = ("char-ner", "spacy-ner")
COMPANY_TYPE = "法人名"


@dataclass(frozen=True)
class GateScore:
    version: str
    f1: float
    tp: int
    fp: int
    fn: int
    source: str  # "model card" or "evaluated"


@dataclass(frozen=True)
class GateDecision:
    passed: bool
    message: str
    metric: str = ""
    data: registry.EvaluationData | None = None
    candidate: GateScore | None = None
    production: GateScore | None = None

    def record(self) -> dict[str, Any]:
        """What the stage history keeps of the decision."""
        out: dict[str, Any] = {"passed": self.passed, "message": self.message}
        if self.metric:
            out["metric"] = self.metric
        if self.data is not None:
            out["data_sha256"] = self.data.sha256
            out["data_file"] = self.data.file
        for name, score in (("candidate", self.candidate), ("production", self.production)):
            if score is not None:
                out[name] = asdict(score)
        return out


def span_task(tasks: TaskConfig, task: str) -> TaskSpec | None:
    """The configured task that loads ``registry:<task>`` (the one of that name first)."""
    users = [t for t in tasks.tasks if modeluri.registry_task(t.model) == task]
    return next((t for t in users if t.name == task), users[0] if users else None)


def emitted_types(spec: TaskSpec) -> tuple[str, ...]:
    if spec.kind == "char-ner":
        return tuple(spec.options.get("types") or (COMPANY_TYPE,))
    return (COMPANY_TYPE,)  # spacy-ner: every mention it keeps is a company (taskeval)


def pooled(version: str, types_table: dict[str, Any], types: tuple[str, ...], source: str) -> GateScore:
    tp = sum(int((types_table.get(t) or {}).get("tp", 0)) for t in types)
    fp = sum(int((types_table.get(t) or {}).get("fp", 0)) for t in types)
    fn = sum(int((types_table.get(t) or {}).get("fn", 0)) for t in types)
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return GateScore(version=version, f1=round(f1, 4), tp=tp, fp=fp, fn=fn, source=source)


def check(store: ObjectStore, tasks: TaskConfig, task: str, candidate: str,
          stage: str = GATED_STAGE) -> GateDecision:
    """May ``candidate`` become ``stage`` of ``task``? Raises RegistryError for an unknown
    version; every other reason to refuse is a decision with its message."""
    registry.read_manifest(store, task, candidate)
    if stage != GATED_STAGE:
        return GateDecision(True, f"{stage} is not gated (only {GATED_STAGE} is)")
    current = registry.stage_pointer(store, task, stage)
    if current is None:
        return GateDecision(True, f"first {stage} model of {task}: nothing to compare with")
    if current.version == candidate:
        return GateDecision(True, f"{task}/{candidate} is already {stage}")
    data = registry.evaluation_data(store, task)
    if data is None:
        return GateDecision(False, f"no evaluation data is registered for {task}, so {candidate} "
                            f"cannot be compared with {stage} {current.version}: register a labelled "
                            f"file with `newsops model eval-data {task} FILE` (newsops train registers "
                            "its dev split), or promote anyway with --force --reason TEXT")
    spec = span_task(tasks, task)
    if spec is None or spec.kind not in SPAN_KINDS:
        what = f"task {spec.name} is of kind {spec.kind}" if spec else \
            f"no task of the task config loads registry:{task}"
        return GateDecision(False, f"{what}: the gate scores span tasks ({', '.join(SPAN_KINDS)}) "
                            "only; promote with --force --reason TEXT", data=data)
    types = emitted_types(spec)
    metric = f"exact-span F1 ({', '.join(types)})"
    try:
        cand, prod = scores(store, spec, data, candidate, current.version, types)
    except Exception as exc:  # noqa: BLE001 - any failure to score is a refusal with its reason
        return GateDecision(False, f"cannot score the versions on {data.file}: {exc}", metric, data)
    where = f"on {data.file} ({data.texts} texts, sha256 {data.sha256[:12]}…)"
    both = (f"candidate {candidate} {cand.f1:.4f}, {stage} {current.version} {prod.f1:.4f} "
            f"({metric} {where}; {cand.source})")
    if cand.f1 < prod.f1:
        return GateDecision(False, f"{candidate} scores worse than {stage}: {both}", metric, data,
                            cand, prod)
    return GateDecision(True, f"{candidate} scores no worse than {stage}: {both}", metric, data,
                        cand, prod)


def scores(store: ObjectStore, spec: TaskSpec, data: registry.EvaluationData, candidate: str,
           production: str, types: tuple[str, ...]) -> tuple[GateScore, GateScore]:
    """(candidate, production): from both model cards when both were scored on ``data``."""
    cards = []
    for version in (candidate, production):
        manifest, _ = registry.read_manifest(store, data.task, version)
        evaluation = manifest.card.get("evaluation") or {}
        cards.append(evaluation if evaluation.get("data_sha256") == data.sha256
                     and isinstance(evaluation.get("types"), dict) else None)
    if cards[0] is not None and cards[1] is not None:
        return (pooled(candidate, cards[0]["types"], types, "both from their model cards"),
                pooled(production, cards[1]["types"], types, "both from their model cards"))
    evaluated = evaluate_versions(store, spec, data, [candidate, production])
    return (pooled(candidate, evaluated[0]["types"], types, "both evaluated now"),
            pooled(production, evaluated[1]["types"], types, "both evaluated now"))


def evaluate_versions(store: ObjectStore, spec: TaskSpec, data: registry.EvaluationData,
                      versions: list[str]) -> list[dict[str, Any]]:
    """``newsops evaluate`` of each version on the registered file."""
    from newsops_batch.labelled import load
    from newsops_batch.taskeval import evaluate_task

    raw = registry.evaluation_bytes(store, data)
    with tempfile.TemporaryDirectory(prefix="newsops-gate-") as tmp:
        path = Path(tmp) / data.file
        path.write_bytes(raw)
        labelled = load(path)
    return [evaluate_task(store, spec, labelled, version).as_dict() for version in versions]
