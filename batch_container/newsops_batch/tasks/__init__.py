"""Task kinds: each turns a list of articles into one output dict per article, in order. The
table of kinds (runner, document field) is chalicelib/contract/taskkinds.py."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from chalicelib.contract.schema import Article, ChunkInfo, RunManifest, TaskSpec
from chalicelib.contract.taskkinds import TASK_KINDS
from newsops_batch.errors import PermanentError

if TYPE_CHECKING:
    from chalicelib.store.base import ObjectStore
    from newsops_batch.modelpath import ModelRef


class TaskRunner(Protocol):
    def run(self, articles: Sequence[Article]) -> list[dict[str, Any] | Exception]:
        """One output per article in input order; an Exception quarantines that article only."""


@dataclass(frozen=True)
class JobContext:
    """What a runner may know about the job beyond its articles (all optional: tests, benches)."""

    store: ObjectStore | None = None
    manifest: RunManifest | None = None
    chunk: ChunkInfo | None = None
    model: ModelRef | None = None
    cache_root: Path | None = None

    def model_ref(self, spec: TaskSpec) -> ModelRef:
        from newsops_batch.modelpath import ModelRef

        return self.model or ModelRef(uri=spec.model, version=spec.model_version)

    def model_dir(self, spec: TaskSpec) -> Path:
        return self.model_ref(spec).local_dir(self.cache_root)


def load_runner(spec: TaskSpec, context: JobContext | None = None) -> TaskRunner:
    """The runner of a task kind, its model loaded (and fetched from the registry if need be)."""
    context = context or JobContext()
    check_language_options(spec)
    info = TASK_KINDS.get(spec.kind)
    if info is not None:
        module, _, name = info.runner.partition(":")
        runner_class = getattr(importlib.import_module(f"newsops_batch.tasks.{module}"), name)
        return runner_class(spec, context)
    raise PermanentError(f"task kind {spec.kind!r} is not available in this image")


def article_text(article: Article) -> str:
    """The text every task sees: title and body, as a reader meets them."""
    return f"{article.title}\n\n{article.body}"


def routed_language(spec: TaskSpec, article: Article) -> str | None:
    """The language whose model the task runs on ``article``; None: the task skips it.

    ``spec.languages`` lists the languages the task's models are for (None: all). An article in
    another language goes where ``options.other_languages`` says: "skip" (the default: its output
    says why) or one of ``spec.languages``, whose model then runs on it and its output says so
    (``processed_as``). A French article never reaches an English model unless the config says so.
    """
    language = article.language or "und"
    if spec.languages is None or language in spec.languages:
        return language
    other = spec.options.get("other_languages", "skip")
    return None if other == "skip" else str(other)


def handles(spec: TaskSpec, article: Article) -> bool:
    return routed_language(spec, article) is not None


def skip_reason(spec: TaskSpec, article: Article) -> str:
    known = ", ".join(spec.languages or [])
    return (f"language {article.language!r} is not handled by this task (it has models for {known}; "
            f"options.other_languages is \"skip\")")


def language_note(spec: TaskSpec, article: Article) -> dict[str, str]:
    """``{"processed_as": code}`` when the article ran on another language's model, else {}."""
    routed = routed_language(spec, article)
    return {"processed_as": routed} if routed and routed != (article.language or "und") else {}


def check_language_options(spec: TaskSpec) -> None:
    other = spec.options.get("other_languages", "skip")
    if other != "skip" and (spec.languages is None or other not in spec.languages):
        raise PermanentError(f"task {spec.name}: options.other_languages must be \"skip\" or one of its "
                             f"languages {spec.languages}, not {other!r}")
