"""The index mapping and template for Elasticsearch and OpenSearch, and the versioned index names.

Readers and writers only ever use the alias (``news``). The concrete index behind it is named
after a fingerprint of its settings and mapping (``news-3f2a9c1d7e4b``): changing the mapping
changes the name, so the adapter builds the new index beside the old one, reindexes, and swaps
the alias in one atomic request; searches keep hitting the old index until the swap.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

Product = Literal["elasticsearch", "opensearch"]

# Lucene's cjk_bigram ships with both products (no plugin needed, unlike kuromoji), and matches
# what the local engine does, so the three engines agree on what a Japanese query finds.
_ANALYSIS: dict[str, Any] = {
    "analyzer": {
        "newsops_cjk": {
            "type": "custom",
            "tokenizer": "standard",
            "filter": ["cjk_width", "lowercase", "cjk_bigram"],
        }
    }
}

# Full-text queries search these; CJK terms are sent as phrases (see cluster.py) so the
# bigram subfields only match adjacent bigrams.
TEXT_FIELDS = ["title^2", "title.cjk^2", "body", "body.cjk"]


def _text() -> dict[str, Any]:
    return {
        "type": "text",
        "analyzer": "english",
        "fields": {"cjk": {"type": "text", "analyzer": "newsops_cjk"}},
    }


def _keyword() -> dict[str, Any]:
    return {"type": "keyword", "ignore_above": 1024}


def _vector(product: Product, dims: int) -> dict[str, Any]:
    if product == "elasticsearch":
        return {"type": "dense_vector", "dims": dims, "index": True, "similarity": "cosine"}
    # The lucene engine supports filtered kNN and needs no native library on the domain.
    return {
        "type": "knn_vector",
        "dimension": dims,
        "method": {"name": "hnsw", "space_type": "cosinesimil", "engine": "lucene"},
    }


def mappings(product: Product, dims: int) -> dict[str, Any]:
    return {
        # Fields the pipeline does not know yet are kept in _source but not indexed, so a new
        # field in some feeder's articles can never break indexing or bloat the mapping.
        "dynamic": False,
        "dynamic_templates": [
            {"model_versions": {"path_match": "models.*", "mapping": {"type": "keyword"}}}
        ],
        "properties": {
            "id": _keyword(),
            "url": {"type": "keyword", "ignore_above": 8192},
            "title": _text(),
            "body": _text(),
            "source": _keyword(),
            "language": _keyword(),
            "published": {"type": "date"},
            "run_id": _keyword(),
            "models": {"type": "object", "dynamic": True},
            "companies": {
                "properties": {
                    "name": _keyword(),
                    "normalized": _keyword(),
                    "label": _keyword(),
                    "start": {"type": "integer"},
                    "end": {"type": "integer"},
                    "score": {"type": "float"},
                }
            },
            "category": {
                "properties": {"label": _keyword(), "score": {"type": "float"}}
            },
            "embedding": _vector(product, dims),
        },
    }


def settings(product: Product) -> dict[str, Any]:
    index: dict[str, Any] = {}
    if product == "opensearch":
        index["knn"] = True  # OpenSearch builds kNN structures only for indices created with it
    return {"index": index, "analysis": _ANALYSIS}


def index_body(product: Product, dims: int) -> dict[str, Any]:
    return {"settings": settings(product), "mappings": mappings(product, dims)}


def fingerprint(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:12]


def versioned_index(alias: str, body: dict[str, Any]) -> str:
    return f"{alias}-{fingerprint(body)}"


def template_body(alias: str, body: dict[str, Any]) -> dict[str, Any]:
    """A composable template for ``<alias>-*``: an index created by hand or by a reindex tool
    under that pattern gets the same analysis and mapping."""
    return {"index_patterns": [f"{alias}-*"], "priority": 100, "template": body}
