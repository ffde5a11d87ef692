"""Company names from spaCy pipelines, routed by the article's language (docs/design.md §10).

English goes through ``en_core_web_sm`` (label ORG), Japanese through GiNZA (labels Company and
Corporation_Other of its extended named-entity scheme). Only the components the NER needs run
(a tok2vec that the NER listens to, and the NER itself). Each paragraph is one document (long
ones cut at sentence ends) and spans are shifted back to article offsets.

``options.rules`` (language -> rule names, see companyrules) refine the model's spans with the
grammar of names; none by default. ``legal-forms`` (Japanese) is the one rule left.

spaCy's greedy NER has no probability per span: ``score`` is null.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from chalicelib.contract.schema import Article, TaskSpec
from newsops_batch.companynames import Mention, merge_mentions
from newsops_batch.companyrules import japanese_legal_form_spans, prefer_anchored
from newsops_batch.errors import PermanentError
from newsops_batch.modelpath import package_root
from newsops_batch.segments import paragraphs
from newsops_batch.tasks import (
    JobContext,
    article_text,
    language_note,
    routed_language,
    skip_reason,
)

log = logging.getLogger("newsops.batch.spacy_ner")

DEFAULT_LABELS: dict[str, list[str]] = {"en": ["ORG"], "ja": ["Company", "Corporation_Other"]}
DEFAULT_RULES: dict[str, list[str]] = {}
RULES = ("legal-forms",)
_SEGMENT_CHARS = 8000  # x up to 4 bytes per character stays under SudachiPy's 49,149 bytes


def load_pipeline(uri: str, context: JobContext, *, require_ner: bool = True) -> Any:
    """A spaCy pipeline with only what its NER needs enabled."""
    import spacy

    if uri.startswith("package:"):
        name = uri.removeprefix("package:")
        package_root(name)  # a clear error when it is not installed
        target: Any = name
    elif uri.startswith("registry:"):
        from newsops_batch.modelpath import ModelRef

        if context.model is None or context.model.resolved is None:
            raise PermanentError(f"{uri}: a registry pipeline needs the job's resolved model")
        target = ModelRef(uri=uri, version=context.model.version, resolved=context.model.resolved,
                          store=context.model.store).local_dir(context.cache_root)
    else:
        target = uri.removeprefix("file://")
    try:
        nlp = spacy.load(target)
    except OSError as exc:
        raise PermanentError(f"cannot load spaCy pipeline {uri!r}: {exc}") from exc
    if "ner" not in nlp.pipe_names:
        if not require_ner:
            return nlp
        raise PermanentError(f"spaCy pipeline {uri!r} has no 'ner' component")
    keep = {"ner"}
    for name in nlp.pipe_names:
        listeners = getattr(nlp.get_pipe(name), "listening_components", None) or []
        if "ner" in listeners:
            keep.add(name)  # the shared tok2vec / transformer that feeds the NER
    nlp.select_pipes(enable=[n for n in nlp.pipe_names if n in keep])
    return nlp


class SpacyNerRunner:
    def __init__(self, spec: TaskSpec, context: JobContext | None = None) -> None:
        self.spec = spec
        self.context = context or JobContext()
        opts = spec.options
        # options.pipelines: language -> uri; the task's model serves every other language.
        self.routes: dict[str, str] = {str(k): str(v) for k, v in (opts.get("pipelines") or {}).items()}
        self.default = spec.model if spec.model not in ("", "none", "routed") else None
        labels = opts.get("labels") or DEFAULT_LABELS
        if isinstance(labels, list):
            labels = {"*": labels}
        self.labels: dict[str, set[str]] = {k: set(v) for k, v in labels.items()}
        rules = opts.get("rules", DEFAULT_RULES)
        self.rules: dict[str, set[str]] = {str(k): set(v) for k, v in rules.items()}
        unknown = {r for v in self.rules.values() for r in v} - set(RULES)
        if unknown:
            raise PermanentError(f"unknown rules {sorted(unknown)}: known are {list(RULES)}")
        self.batch_size = int(opts.get("batch_size", 32))
        self.segment_chars = int(opts.get("segment_chars", _SEGMENT_CHARS))
        self.model_version = self.context.model_ref(spec).version
        self._pipelines: dict[str, Any] = {}

    def _uri(self, language: str) -> str | None:
        return self.routes.get(language, self.default)

    def pipeline(self, uri: str) -> Any:
        if uri not in self._pipelines:
            self._pipelines[uri] = load_pipeline(uri, self.context)
            log.info("spaCy pipeline %s: %s", uri, self._pipelines[uri].pipe_names)
        return self._pipelines[uri]

    def _wanted(self, language: str) -> set[str] | None:
        return self.labels.get(language) or self.labels.get("*")

    def mentions(self, texts: Sequence[str], language: str) -> list[list[Mention]]:
        uri = self._uri(language)
        if uri is None:
            raise PermanentError(f"no spaCy pipeline for language {language!r}")
        nlp = self.pipeline(uri)
        wanted = self._wanted(language)
        rules = self.rules.get(language) or self.rules.get("*") or set()
        pieces = [(i, off, seg) for i, t in enumerate(texts) for off, seg in paragraphs(t, self.segment_chars)]
        found: list[list[Mention]] = [[] for _ in texts]
        docs = nlp.pipe((seg for _, _, seg in pieces), batch_size=self.batch_size)
        for (i, off, _), doc in zip(pieces, docs, strict=True):
            spans = [Mention(name=ent.text, label=ent.label_, start=off + ent.start_char,
                             end=off + ent.end_char, score=None)
                     for ent in doc.ents if wanted is None or ent.label_ in wanted]
            if "legal-forms" in rules:
                spans = prefer_anchored(spans, japanese_legal_form_spans(doc, off))
            found[i].extend(spans)
        return found

    def run(self, articles: Sequence[Article]) -> list[dict[str, Any] | Exception]:
        out: list[dict[str, Any] | Exception] = [
            {"companies": [], "skipped": skip_reason(self.spec, a),
             "model_version": self.model_version} for a in articles]
        by_language: dict[str, list[int]] = defaultdict(list)
        for i, a in enumerate(articles):
            language = routed_language(self.spec, a)
            if language is not None and self._uri(language) is not None:
                by_language[language].append(i)
        for language, idx in by_language.items():
            self.pipeline(self._uri(language))  # type: ignore[arg-type]  # load errors fail the job
            try:
                found = self.mentions([article_text(articles[i]) for i in idx], language)
            except Exception as exc:  # noqa: BLE001 - isolated below, per article
                # One article can break a whole nlp.pipe batch: retry one by one to isolate it.
                log.warning("spaCy batch for %s failed (%s): retrying article by article", language, exc)
                found = [self._one(article_text(articles[i]), language) for i in idx]
            for i, mentions in zip(idx, found, strict=True):
                out[i] = mentions if isinstance(mentions, Exception) else {
                    "companies": merge_mentions(mentions), "model_version": self.model_version,
                    **language_note(self.spec, articles[i])}
        return out

    def _one(self, text: str, language: str) -> list[Mention] | Exception:
        try:
            return self.mentions([text], language)[0]
        except Exception as exc:  # noqa: BLE001 - quarantines this article only
            return exc
