"""A fine-tuned Hugging Face sequence classifier: one label and its probability per article.

The article is truncated at the task's max length: a news category is decided by the title and
the lead, which come first.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from chalicelib.contract.schema import Article, TaskSpec
from newsops_batch.engine import Engine, growing_slices, softmax_logits
from newsops_batch.loading import load_task_model, window_length
from newsops_batch.tasks import JobContext, article_text

log = logging.getLogger("newsops.batch.text_classification")


class TextClassificationRunner:
    def __init__(self, spec: TaskSpec, context: JobContext | None = None) -> None:
        from transformers import AutoModelForSequenceClassification

        context = context or JobContext()
        self.spec = spec
        self.model_version, self.tokenizer, model, self.placement = load_task_model(
            spec, context, AutoModelForSequenceClassification)
        self.labels = [str(model.config.id2label[i]) for i in range(model.config.num_labels)]
        self.max_length = window_length(spec, model)
        self.engine = Engine(model, self.placement, pad_token_id=self.tokenizer.pad_token_id,
                             head=softmax_logits)
        log.info("text classifier %s (%d labels) on %s", self.model_version, len(self.labels),
                 self.placement.describe())

    def probabilities(self, texts: Sequence[str]) -> list[np.ndarray | Exception]:
        """Class probabilities per text, in input order."""

        def slices() -> Iterator[list[list[int]]]:
            for _, part in growing_slices(texts):
                yield self.tokenizer(list(part), truncation=True, max_length=self.max_length,
                                     return_attention_mask=False, return_token_type_ids=False)["input_ids"]

        return self.engine.stream(slices())

    def run(self, articles: Sequence[Article]) -> list[dict[str, Any] | Exception]:
        out: list[dict[str, Any] | Exception] = []
        for probs in self.probabilities([article_text(a) for a in articles]):
            if isinstance(probs, Exception):
                out.append(probs)
                continue
            best = int(probs.argmax())
            out.append({"label": self.labels[best], "score": round(float(probs[best]), 4),
                        "model_version": self.model_version})
        return out
