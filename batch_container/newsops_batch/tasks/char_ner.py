"""Company names from the trained character tagger (``newsops train companies``).

The tagger handles the languages it was trained for (``options.model_languages``, default
Japanese); every other language goes to a spaCy pipeline described by ``options.fallback``
(the ``spacy-ner`` kind's options, e.g. English ``en_core_web_sm`` with label ORG). Each
paragraph is cut at sentence ends into pieces of at most ``options.segment_chars`` characters
(a name never spans a paragraph), tagged in length-sorted batches, and the spans of
``options.types`` (default 法人名) are shifted back to article offsets.

The tagger's softmax gives no calibrated span probability: ``score`` is null, as for spaCy.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from chalicelib.contract.schema import Article, TaskSpec
from newsops_batch.companynames import Mention, merge_mentions
from newsops_batch.errors import PermanentError
from newsops_batch.segments import paragraphs
from newsops_batch.spaneval import Span
from newsops_batch.tasks import (
    JobContext,
    article_text,
    language_note,
    routed_language,
    skip_reason,
)

log = logging.getLogger("newsops.batch.char_ner")

DEFAULT_TYPES = ("法人名",)
_SEGMENT_CHARS = 400


class CharNerRunner:
    def __init__(self, spec: TaskSpec, context: JobContext | None = None) -> None:
        self.spec = spec
        self.context = context or JobContext()
        opts = spec.options
        self.model_languages = set(opts.get("model_languages") or ["ja"])
        self.types = tuple(opts.get("types") or DEFAULT_TYPES)
        self.segment_chars = int(opts.get("segment_chars", _SEGMENT_CHARS))
        self.model_version = self.context.model_ref(spec).version
        self._tagger: Any = None
        self.fallback: Any = None
        if opts.get("fallback"):
            from newsops_batch.tasks.spacy_ner import SpacyNerRunner

            fb = dict(opts["fallback"])
            fb_spec = spec.model_copy(update={"kind": "spacy-ner", "model": fb.pop("model", "routed"),
                                              "options": fb})
            self.fallback = SpacyNerRunner(fb_spec, self.context)
            self.fallback.model_version = self.model_version

    @property
    def tagger(self) -> Any:
        if self._tagger is None:
            from newsops_batch.charner import artifact

            self._tagger = artifact.load(self.context.model_dir(self.spec))
            trained = {t[2:] for t in self._tagger.config.tags if t != "O"}
            if not set(self.types) <= trained:
                raise PermanentError(f"model {self.model_version} was not trained on "
                                     f"{sorted(set(self.types) - trained)} (it knows {sorted(trained)})")
            log.info("char-ner %s on %s", self.model_version, self._tagger.device)
        return self._tagger

    def spans(self, texts: Sequence[str], language: str) -> list[list[Span]]:
        """Typed spans per text (the tagger's types, or 法人名 from the fallback)."""
        if language not in self.model_languages:
            if self.fallback is None:
                raise PermanentError(f"no model for language {language!r}")
            return [[Span(m.start, m.end, self.types[0]) for m in found]
                    for found in self.fallback.mentions(texts, language)]
        from newsops_batch.charner.inference import predict

        pieces = [(i, off, seg) for i, t in enumerate(texts) for off, seg in paragraphs(t, self.segment_chars)]
        found: list[list[Span]] = [[] for _ in texts]
        predicted = predict(self.tagger, [seg for _, _, seg in pieces])
        for (i, off, _), spans in zip(pieces, predicted, strict=True):
            found[i].extend(Span(off + s.start, off + s.end, s.type) for s in spans)
        return found

    def mentions(self, texts: Sequence[str], language: str) -> list[list[Mention]]:
        wanted = set(self.types)
        return [[Mention(name=t[s.start:s.end], label=s.type, start=s.start, end=s.end, score=None)
                 for s in spans if s.type in wanted]
                for t, spans in zip(texts, self.spans(texts, language), strict=True)]

    def _handled(self, language: str) -> bool:
        return language in self.model_languages or self.fallback is not None

    def run(self, articles: Sequence[Article]) -> list[dict[str, Any] | Exception]:
        out: list[dict[str, Any] | Exception] = [
            {"companies": [], "skipped": skip_reason(self.spec, a),
             "model_version": self.model_version} for a in articles]
        by_language: dict[str, list[int]] = defaultdict(list)
        for i, a in enumerate(articles):
            language = routed_language(self.spec, a)
            if language is not None and self._handled(language):
                by_language[language].append(i)
        for language, idx in by_language.items():
            if language in self.model_languages:
                _ = self.tagger  # a model that cannot load fails the job, not one article
            try:
                found: list[Any] = self.mentions([article_text(articles[i]) for i in idx], language)
            except PermanentError:
                raise
            except Exception as exc:  # noqa: BLE001 - isolated below, per article
                log.warning("char-ner batch for %s failed (%s): retrying article by article", language, exc)
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
