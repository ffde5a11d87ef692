"""Classification on top of sentence embeddings: ``zero-shot`` and ``prototype``.

zero-shot: each label has a description (``options.labels``: label -> text or list of texts);
           an article takes the label whose description embedding is nearest (cosine).
prototype: each label has labelled examples (``options.examples``: label -> texts); its
           prototype is the normalised mean of their embeddings.

The score is a softmax over cosine similarities at ``options.temperature`` (default 0.05).

Sharing the backbone (one forward pass per article): with ``options.backbone_task`` naming the
embedding task of the same run and the same model, the classifier reads that task's result for
the same chunk (checked against the chunk's sha256 and the model uri and sha256) instead of
running the backbone again; ``options.backbone_wait_s`` lets it wait that long for the result
(give such a task ``gpu: 0``: waiting then costs a CPU slot, not a GPU). Articles the result
does not cover are embedded here. The result's metadata says which happened.

Routes by language (``options.routes``: language -> {"pipeline": uri, "labels": {...}}) send
other languages to another embedder: GiNZA's word vectors with Japanese label descriptions for
Japanese, since MiniLM is English-only (docs/design.md §10).
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from chalicelib.contract import keys
from chalicelib.contract.schema import Article, TaskSpec
from chalicelib.jsonl import iter_records
from newsops_batch.errors import PermanentError
from newsops_batch.tasks import (
    JobContext,
    article_text,
    language_note,
    routed_language,
    skip_reason,
)
from newsops_batch.tasks.embedding import EmbeddingRunner

log = logging.getLogger("newsops.batch.embedding_classification")


class Embedder(Protocol):
    def embed(self, texts: Sequence[str]) -> list[np.ndarray | Exception]: ...


class SpacyVectors:
    """Mean of a spaCy pipeline's static word vectors, L2-normalised (only its tokenizer runs)."""

    def __init__(self, uri: str, context: JobContext, segment_chars: int = 8000) -> None:
        from newsops_batch.tasks.spacy_ner import load_pipeline

        self.nlp = load_pipeline(uri, context, require_ner=False)
        self.nlp.select_pipes(enable=[])
        if not self.nlp.vocab.vectors.shape[0]:
            raise PermanentError(f"spaCy pipeline {uri!r} has no word vectors")
        self.segment_chars = segment_chars

    def embed(self, texts: Sequence[str]) -> list[np.ndarray | Exception]:
        from newsops_batch.segments import paragraphs

        out: list[np.ndarray | Exception] = []
        for text in texts:
            try:
                total = np.zeros(self.nlp.vocab.vectors.shape[1], dtype=np.float64)
                for _, seg in paragraphs(text, self.segment_chars):
                    for tok in self.nlp(seg):
                        if tok.has_vector and _content_word(tok):
                            total += tok.vector
                norm = np.linalg.norm(total)
                out.append((total / norm if norm > 0 else total).astype(np.float32))
            except Exception as exc:  # noqa: BLE001 - quarantines this article only
                out.append(exc)
        return out


def _content_word(tok: object) -> bool:
    """Nouns, verbs and adjectives carry the topic; particles and symbols only blur the mean."""
    if tok.is_punct or tok.is_space or tok.is_stop or tok.like_num:  # type: ignore[attr-defined]
        return False
    tag = tok.tag_ or ""  # type: ignore[attr-defined]
    if not tag or ord(tag[0]) < 0x3000:
        return True  # not a Sudachi part of speech: nothing more to judge by
    return tag.startswith(("名詞", "動詞", "形容詞", "形状詞")) and not tag.startswith("名詞-数詞")


@dataclass
class _Route:
    embedder: Embedder
    labels: list[str]
    matrix: np.ndarray  # one unit row per label


def _label_texts(spec: TaskSpec, options: dict[str, Any]) -> dict[str, list[str]]:
    if spec.kind == "zero-shot":
        raw = options.get("labels")
        template = str(options.get("template", "{}"))
        if not isinstance(raw, dict) or not raw:
            raise PermanentError(f"task {spec.name}: zero-shot needs options.labels {{label: description}}")
        return {str(k): [template.format(t) for t in ([v] if isinstance(v, str) else v)]
                for k, v in raw.items()}
    raw = options.get("examples")
    if not isinstance(raw, dict) or not raw or not all(raw.values()):
        raise PermanentError(f"task {spec.name}: prototype needs options.examples {{label: [texts]}}")
    return {str(k): [str(t) for t in v] for k, v in raw.items()}


def _label_matrix(embedder: Embedder, texts: dict[str, list[str]]) -> tuple[list[str], np.ndarray]:
    labels = list(texts)
    rows = []
    for label in labels:
        vecs = embedder.embed(texts[label])
        bad = next((v for v in vecs if isinstance(v, Exception)), None)
        if bad is not None:
            raise PermanentError(f"cannot embed the texts of label {label!r}: {bad}")
        mean = np.mean(np.stack(vecs), axis=0)  # type: ignore[arg-type]
        rows.append(mean / max(float(np.linalg.norm(mean)), 1e-12))
    return labels, np.stack(rows).astype(np.float32)


class EmbeddingClassifierRunner:
    def __init__(self, spec: TaskSpec, context: JobContext | None = None) -> None:
        self.spec = spec
        self.context = context or JobContext()
        opts = spec.options
        self.temperature = float(opts.get("temperature", 0.05))
        if self.temperature <= 0:
            raise PermanentError("options.temperature must be > 0")
        self.backbone_task: str | None = opts.get("backbone_task")
        self.wait_s = float(opts.get("backbone_wait_s", 0))
        self.model_ref = self.context.model_ref(spec)
        self.model_version = self.model_ref.version
        self.backbone = EmbeddingRunner(spec, self.context)
        self.main = _Route(self.backbone, *_label_matrix(self.backbone, _label_texts(spec, opts)))
        self.routes: dict[str, _Route] = {}
        for language, route in (opts.get("routes") or {}).items():
            embedder = SpacyVectors(str(route["pipeline"]), self.context)
            self.routes[str(language)] = _Route(embedder, *_label_matrix(embedder, _label_texts(spec, route)))
        self.result_metadata: dict[str, str] = {}

    # -- backbone reuse ---------------------------------------------------------------------
    def _backbone_result(self) -> dict[str, np.ndarray]:
        """Embeddings of this chunk from the backbone task's result, when it is valid to reuse."""
        ctx = self.context
        if not (self.backbone_task and ctx.store and ctx.manifest and ctx.chunk):
            return {}
        backbone = next((t for t in ctx.manifest.tasks if t.name == self.backbone_task), None)
        if backbone is None or backbone.kind != "embedding" or backbone.model != self.spec.model \
                or backbone.max_length != self.spec.max_length:
            log.warning("backbone task %r is not an embedding task of the same model and length: "
                        "computing embeddings here", self.backbone_task)
            return {}
        key = keys.result(ctx.manifest.run_id, backbone.name, ctx.chunk.index)
        deadline = time.monotonic() + self.wait_s
        while True:
            info = ctx.store.head(key)
            if info is not None and info.metadata.get("input_sha256") == ctx.chunk.sha256 \
                    and info.metadata.get("model_uri", backbone.model) == self.spec.model \
                    and info.metadata.get("model_sha256", "") == (self.model_ref.sha256 or ""):
                break
            if time.monotonic() >= deadline:
                return {}
            time.sleep(min(1.0, max(deadline - time.monotonic(), 0.0)))
        vectors: dict[str, np.ndarray] = {}
        for rec in iter_records(io.BytesIO(ctx.store.get(key))):
            emb = rec.get("output", {}).get("embedding")
            if emb:
                vectors[rec["id"]] = np.asarray(emb, dtype=np.float32)
        return vectors

    # -- run --------------------------------------------------------------------------------
    def run(self, articles: Sequence[Article]) -> list[dict[str, Any] | Exception]:
        out: list[dict[str, Any] | Exception] = [PermanentError("not classified")] * len(articles)
        routed: dict[str, list[int]] = {}
        for i, a in enumerate(articles):
            language = routed_language(self.spec, a)
            if language is None:
                out[i] = {"label": None, "score": None, "skipped": skip_reason(self.spec, a),
                          "model_version": self.model_version}
                continue
            routed.setdefault(language if language in self.routes else "", []).append(i)
        main_idx = routed.pop("", [])
        reused = self._backbone_result() if main_idx else {}
        hit = [i for i in main_idx if articles[i].id in reused]
        miss = [i for i in main_idx if articles[i].id not in reused]
        vectors: dict[int, np.ndarray | Exception] = {i: reused[articles[i].id] for i in hit}  # type: ignore[index]
        vectors.update(zip(miss, self.backbone.embed([article_text(articles[i]) for i in miss]), strict=True))
        self._classify(main_idx, vectors, self.main, out, articles)
        for language, idx in routed.items():
            route = self.routes[language]
            self._classify(idx, dict(zip(idx, route.embedder.embed(
                [article_text(articles[i]) for i in idx]), strict=True)), route, out, articles)
        self.result_metadata = {"backbone_task": self.backbone_task or "",
                                "backbone_reused": str(len(hit)), "backbone_computed": str(len(miss))}
        if self.backbone_task:
            log.info("backbone %s: %d articles reused from its result, %d embedded here",
                     self.backbone_task, len(hit), len(miss))
        return out

    def _classify(self, idx: list[int], vectors: dict[int, np.ndarray | Exception], route: _Route,
                  out: list[dict[str, Any] | Exception], articles: Sequence[Article]) -> None:
        good = [i for i in idx if not isinstance(vectors[i], Exception)]
        for i in idx:
            if isinstance(vectors[i], Exception):
                out[i] = vectors[i]  # type: ignore[assignment]
        if not good:
            return
        sims = np.stack([vectors[i] for i in good]) @ route.matrix.T  # type: ignore[misc]
        logits = sims / self.temperature
        probs = np.exp(logits - logits.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        for row, i in enumerate(good):
            best = int(probs[row].argmax())
            out[i] = {"label": route.labels[best], "score": round(float(probs[row, best]), 4),
                      "model_version": self.model_version, **language_note(self.spec, articles[i])}
