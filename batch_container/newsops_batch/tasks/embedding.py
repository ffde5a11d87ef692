"""Mean-pooled, L2-normalised sentence embeddings (MiniLM by default).

Equal to sentence-transformers ``encode()`` of the same text (same tokenizer, truncation at the
task's max length, mean pooling over real tokens, L2 norm), but batched by the engine.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from chalicelib.contract.schema import Article, TaskSpec
from newsops_batch.engine import Engine, growing_slices, mean_pool_normalized
from newsops_batch.loading import load_task_model, window_length
from newsops_batch.tasks import JobContext, article_text, handles, language_note, skip_reason

log = logging.getLogger("newsops.batch.embedding")


class EmbeddingRunner:
    def __init__(self, spec: TaskSpec, context: JobContext | None = None) -> None:
        from transformers import AutoModel

        context = context or JobContext()
        self.spec = spec
        self.model_version, self.tokenizer, model, self.placement = load_task_model(
            spec, context, AutoModel)
        self.max_length = window_length(spec, model)
        self.engine = Engine(model, self.placement, pad_token_id=self.tokenizer.pad_token_id,
                             head=mean_pool_normalized)
        self.dim = int(model.config.hidden_size)
        log.info("embedding model %s on %s", self.model_version, self.placement.describe())

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        return self.tokenizer(list(texts), truncation=True, max_length=self.max_length,
                              return_attention_mask=False, return_token_type_ids=False)["input_ids"]

    def embed(self, texts: Sequence[str]) -> list[np.ndarray | Exception]:
        """One unit vector per text, in input order (an Exception for a text that failed)."""

        def slices() -> Iterator[list[list[int]]]:
            # Lazily: on a GPU the engine's collate thread tokenises while the model computes.
            for _, part in growing_slices(texts):
                yield self.encode(part)

        return self.engine.stream(slices())

    def run(self, articles: Sequence[Article]) -> list[dict[str, Any] | Exception]:
        todo = [i for i, a in enumerate(articles) if handles(self.spec, a)]
        vectors = self.embed([article_text(articles[i]) for i in todo])
        out: list[dict[str, Any] | Exception] = [
            {"embedding": None, "skipped": skip_reason(self.spec, a),
             "model_version": self.model_version} for a in articles]
        for i, v in zip(todo, vectors, strict=True):
            out[i] = v if isinstance(v, Exception) else {**self.output(v),
                                                         **language_note(self.spec, articles[i])}
        return out

    def output(self, vector: np.ndarray) -> dict[str, Any]:
        return {"embedding": [round(float(x), 6) for x in vector], "dim": self.dim,
                "model_version": self.model_version}
