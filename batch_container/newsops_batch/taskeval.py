"""Scoring a configured span task on labelled data: what ``newsops evaluate`` and the demo run.

The task is loaded exactly as a run would load it (the same runner, the same registry pin and
checksum checks), then :func:`newsops_batch.spaneval.score` compares its spans with the labels.
Stock GiNZA, the baseline every figure is printed next to, is the same ``spacy-ner`` runner with
GiNZA's two company labels and no rules.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from chalicelib import registry
from chalicelib.contract import modeluri
from chalicelib.contract.schema import TaskSpec
from chalicelib.store.base import ObjectStore
from newsops_batch.errors import PermanentError
from newsops_batch.labelled import LabelledSet
from newsops_batch.modelpath import ModelRef
from newsops_batch.spaneval import Example, Span, SpanReport, score
from newsops_batch.tasks import JobContext, load_runner

SPAN_KINDS = ("char-ner", "spacy-ner")
COMPANY_TYPE = "法人名"


@dataclass
class TaskEvaluation:
    model_version: str
    report: SpanReport
    seconds: float

    @property
    def texts_per_s(self) -> float:
        return self.report.texts / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**self.report.as_dict(self.model_version), "seconds": round(self.seconds, 2)}


def stock_ginza_spec(name: str = "companies") -> TaskSpec:
    """GiNZA as shipped: its Company and Corporation_Other entities, nothing added."""
    return TaskSpec(name=name, kind="spacy-ner", model="package:ja_ginza", model_version="ja_ginza",
                    languages=["ja"], options={"labels": {"ja": ["Company", "Corporation_Other"]},
                                               "rules": {}})


def model_ref(store: ObjectStore, spec: TaskSpec, version: str | None) -> ModelRef:
    """The model a run of this task would load, or the given registry version / stage."""
    task = modeluri.registry_task(spec.model)
    if task is None:
        if version is not None:
            raise PermanentError(f"task {spec.name} uses {spec.model}, not a registry model: "
                                 "--model does not apply")
        from newsops_batch.modelpath import resolve_task_model

        return resolve_task_model(store, spec)
    try:
        resolved = registry.resolve(store, task, version or (
            spec.model_version if spec.model_version not in ("", "builtin") else "prod"))
    except registry.RegistryError as exc:
        raise PermanentError(str(exc)) from None
    return ModelRef(uri=spec.model, version=resolved.version, sha256=resolved.manifest_sha256,
                    resolved=resolved, store=store)


def evaluate_task(store: ObjectStore, spec: TaskSpec, data: LabelledSet,
                  version: str | None = None) -> TaskEvaluation:
    if spec.kind not in SPAN_KINDS:
        raise PermanentError(f"task {spec.name} is of kind {spec.kind}: evaluate scores span tasks "
                             f"({', '.join(SPAN_KINDS)})")
    ref = model_ref(store, spec, version)
    runner: Any = load_runner(spec, JobContext(store=store, model=ref))
    by_language: dict[str, list[int]] = defaultdict(list)
    for i, t in enumerate(data.texts):
        by_language[t.language].append(i)
    predicted: list[list[Span]] = [[] for _ in data.texts]
    for language in by_language:
        _load(runner, language)  # loading is not what texts/s measures
    started = time.perf_counter()
    for language, idx in by_language.items():
        found = _spans(runner, [data.texts[i].text for i in idx], language)
        for i, spans in zip(idx, found, strict=True):
            predicted[i] = spans
    seconds = time.perf_counter() - started
    types = _types(runner)
    report = score((Example(gold=t.spans, predicted=p, language=t.language)
                    for t, p in zip(data.texts, predicted, strict=True)), types=types)
    return TaskEvaluation(model_version=ref.version, report=report, seconds=seconds)


def _load(runner: Any, language: str) -> None:
    if hasattr(runner, "model_languages") and language in runner.model_languages:
        _ = runner.tagger
    elif hasattr(runner, "pipeline") and runner._uri(language) is not None:
        runner.pipeline(runner._uri(language))


def _spans(runner: Any, texts: list[str], language: str) -> list[list[Span]]:
    if hasattr(runner, "spans"):
        return runner.spans(texts, language)
    # spacy-ner: every mention it keeps is a company.
    return [[Span(m.start, m.end, COMPANY_TYPE) for m in found]
            for found in runner.mentions(texts, language)]


def _types(runner: Any) -> set[str]:
    tagger = getattr(runner, "tagger", None)
    if tagger is not None:
        return {t[2:] for t in tagger.config.tags if t != "O"}
    return {COMPANY_TYPE}
