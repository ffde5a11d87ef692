"""The one table of task kinds: what each runs (its runner in the batch image) and where its
output lands in an article's search document (the index mapping's field).

=====================  ==========================================================  ==========
kind                   what it runs                                                document
=====================  ==========================================================  ==========
embedding              a sentence-transformers model (MiniLM): mean pool + L2      embedding
token-classification   any HF BERT-family token classifier, over stride windows    companies
spacy-ner              spaCy pipelines routed by the article's language            companies
char-ner               the trained character tagger (newsops train), spaCy beside  companies
zero-shot              label descriptions embedded by the backbone; nearest wins   category
prototype              mean embedding of labelled examples per label               category
text-classification    a fine-tuned HF sequence classifier                         category
=====================  ==========================================================  ==========

Adding a kind is one row here and its runner module; the task config validates against it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

DocumentField = Literal["embedding", "companies", "category"]


@dataclass(frozen=True)
class TaskKindInfo:
    runner: str  # "<module of newsops_batch.tasks>:<class>"
    field: DocumentField


TASK_KINDS: dict[str, TaskKindInfo] = {
    "embedding": TaskKindInfo("embedding:EmbeddingRunner", "embedding"),
    "token-classification": TaskKindInfo("token_classification:TokenClassificationRunner", "companies"),
    "spacy-ner": TaskKindInfo("spacy_ner:SpacyNerRunner", "companies"),
    "char-ner": TaskKindInfo("char_ner:CharNerRunner", "companies"),
    "zero-shot": TaskKindInfo("embedding_classification:EmbeddingClassifierRunner", "category"),
    "prototype": TaskKindInfo("embedding_classification:EmbeddingClassifierRunner", "category"),
    "text-classification": TaskKindInfo("text_classification:TextClassificationRunner", "category"),
}


def kinds_for(field: DocumentField) -> tuple[str, ...]:
    """The kinds whose output fills one document field (e.g. every company extractor)."""
    return tuple(k for k, info in TASK_KINDS.items() if info.field == field)
