"""Mean-pooled, L2-normalised sentence embeddings (MiniLM by default)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from transformers import AutoModel, AutoTokenizer

from chalicelib.schema import Article, TaskSpec
from newsops_batch.modelpath import resolve_model_dir
from newsops_batch.tasks import article_text


class EmbeddingRunner:
    def __init__(self, spec: TaskSpec) -> None:
        self.spec = spec
        path = resolve_model_dir(spec.model)
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path).eval()

    def embed(self, texts: Sequence[str]) -> torch.Tensor:
        enc = self.tokenizer(list(texts), truncation=True, max_length=self.spec.max_length)
        order = sorted(range(len(texts)), key=lambda i: len(enc["input_ids"][i]))
        out = torch.empty((len(texts), self.model.config.hidden_size), dtype=torch.float32)
        budget = self.spec.batch_tokens
        i = 0
        with torch.inference_mode():
            while i < len(order):
                longest = len(enc["input_ids"][order[i]])
                j = i
                # Sorted by length: the batch grows until its padded size would exceed the budget.
                while j < len(order) and (j - i + 1) * max(longest, len(enc["input_ids"][order[j]])) <= budget:
                    longest = max(longest, len(enc["input_ids"][order[j]]))
                    j += 1
                j = max(j, i + 1)
                idx = order[i:j]
                batch = self.tokenizer.pad({"input_ids": [enc["input_ids"][k] for k in idx],
                                            "attention_mask": [enc["attention_mask"][k] for k in idx]},
                                           return_tensors="pt")
                hidden = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                out[idx] = torch.nn.functional.normalize(pooled, p=2, dim=1)
                i = j
        return out

    def run(self, articles: Sequence[Article]) -> list[dict[str, Any] | Exception]:
        vectors = self.embed([article_text(a) for a in articles])
        return [{"embedding": [round(float(x), 6) for x in v], "dim": int(v.shape[0]),
                 "model_version": self.spec.model_version} for v in vectors]
