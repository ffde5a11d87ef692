"""What the Elasticsearch and OpenSearch adapters share: index lifecycle, bulk, query DSL.

The two clients take the same request bodies; they differ in their bulk/scan helpers, their
exception classes and how a response carries its status, which the subclasses provide. The
*product* on the other end (``dialect``) is separate from the client: it decides the vector
field type and the kNN request, the only places where the two query languages differ.
"""

from __future__ import annotations

import logging
import time
from abc import abstractmethod
from collections.abc import Iterable, Iterator
from datetime import timedelta
from typing import Any

import numpy as np

from chalicelib.contract import keys
from chalicelib.search import mapping
from chalicelib.search.base import IndexOutcome, SearchIndex, SearchQuery, SearchResult
from chalicelib.search.bulk import Action, BulkPolicy, run_bulk
from chalicelib.search.document import FACET_SIZE, DocumentRejected, hit_from_source, prepare
from chalicelib.search.errors import SearchBackendError
from chalicelib.search.fts import split_terms

log = logging.getLogger(__name__)


def filter_clauses(q: SearchQuery) -> list[dict[str, Any]]:
    clauses: list[dict[str, Any]] = []
    if q.company:
        clauses.append({"bool": {"should": [
            {"term": {"companies.normalized": {"value": q.company, "case_insensitive": True}}},
            {"term": {"companies.name": {"value": q.company, "case_insensitive": True}}},
        ], "minimum_should_match": 1}})
    for field, value in (("category.label", q.category), ("source", q.source),
                         ("language", q.language), ("run_id", q.run_id)):
        if value:
            clauses.append({"term": {field: value}})
    if q.date_from or q.date_to:
        bounds: dict[str, str] = {}
        if q.date_from:
            bounds["gte"] = q.date_from.isoformat()
        if q.date_to:
            # Whole days, both ends included: published is a timestamp, so stop before the next day.
            bounds["lt"] = (q.date_to + timedelta(days=1)).isoformat()
        clauses.append({"range": {"published": bounds}})
    if not q.replays and not q.run_id:
        clauses.append({"bool": {"must_not": [{"prefix": {"run_id": keys.REPLAY_RUN_PREFIX}}]}})
    return clauses


def text_clauses(text: str) -> list[dict[str, Any]]:
    # Every term must match, each as a phrase: a CJK term's bigrams must be adjacent, which is
    # what keeps 自動車 from matching 自動販売機と電動車; a Latin word is a one-token phrase.
    return [
        {"multi_match": {"query": term, "type": "phrase", "fields": mapping.TEXT_FIELDS}}
        for term in split_terms(text)
    ]


def knn_body(dialect: mapping.Product, vector: list[float], k: int,
             filters: list[dict[str, Any]], exclude: dict[str, Any]) -> dict[str, Any]:
    """The native k-nearest-neighbour request; the filter applies during the graph search, so
    k hits come back even when the filter is selective."""
    knn_filter = {"bool": {"filter": filters, "must_not": [exclude]}}
    if dialect == "elasticsearch":
        return {"knn": {"field": "embedding", "query_vector": vector, "k": k,
                        "num_candidates": min(10_000, max(100, 4 * k)), "filter": knn_filter}}
    return {"query": {"knn": {"embedding": {"vector": vector, "k": k, "filter": knn_filter}}}}


def facet_aggs() -> dict[str, Any]:
    return {
        "companies": {"terms": {"field": "companies.normalized", "size": FACET_SIZE}},
        "categories": {"terms": {"field": "category.label", "size": FACET_SIZE}},
        "sources": {"terms": {"field": "source", "size": FACET_SIZE}},
        "days": {"date_histogram": {"field": "published", "calendar_interval": "day",
                                    "format": "yyyy-MM-dd", "min_doc_count": 1}},
    }


def read_facets(aggs: dict[str, Any] | None) -> dict[str, list[tuple[str, int]]]:
    if not aggs:
        return {}
    out: dict[str, list[tuple[str, int]]] = {}
    for name, agg in aggs.items():
        out[name] = [(str(b.get("key_as_string", b["key"])), int(b["doc_count"]))
                     for b in agg.get("buckets", [])]
    return out


class ClusterSearchIndex(SearchIndex):
    """A search index on an Elasticsearch or OpenSearch cluster, used through an alias."""

    def __init__(
        self,
        client: Any,
        *,
        alias: str = "news",
        dims: int = 384,
        dialect: mapping.Product,
        bulk: BulkPolicy | None = None,
        exact_knn_limit: int = 10_000,
        refresh: bool = True,
    ) -> None:
        self.client = client
        self.alias = alias
        self.dims = dims
        self.dialect: mapping.Product = dialect
        self.bulk_policy = bulk or BulkPolicy()
        self.exact_knn_limit = exact_knn_limit
        self.refresh = refresh
        self.body = mapping.index_body(dialect, dims)
        self.target = mapping.versioned_index(alias, self.body)
        self._ready = False
        self._native_knn = True

    # -- what each client does its own way ----------------------------------------------------

    # The client library's ``helpers`` module: both libraries' streaming_bulk and scan take
    # the same arguments, so one implementation serves both.
    _helpers: Any

    def _send_bulk(self, actions: list[Action]) -> Iterable[tuple[bool, dict[str, Any]]]:
        """The client's streaming_bulk over one batch: never raises for item errors."""
        return self._helpers.streaming_bulk(
            self.client, actions, chunk_size=len(actions),
            max_chunk_bytes=self.bulk_policy.max_request_bytes,
            raise_on_error=False, raise_on_exception=False, max_retries=0,
        )

    def _scan(self, body: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Every hit of a query (the client's scan helper)."""
        return self._helpers.scan(self.client, index=self.alias, query=body, size=1000)

    @property
    @abstractmethod
    def _request_errors(self) -> tuple[type[BaseException], ...]:
        """Exceptions meaning the request did not get through (retried by bulk)."""

    @abstractmethod
    def _error(self, exc: BaseException) -> tuple[int | None, str, str] | None:
        """(status, error type, reason) of a server error response, or None if not one."""

    # -- index lifecycle ----------------------------------------------------------------------

    def _alias_targets(self) -> list[str]:
        try:
            return sorted(self.client.indices.get_alias(name=self.alias).keys())
        except Exception as e:
            if (err := self._error(e)) and err[0] == 404:
                return []
            raise

    def ensure_index(self) -> str:
        """Make the alias point at the index of the current mapping; returns that index's name.

        First call: create the template, the index and the alias. After a mapping change:
        build the new index, copy the documents over, swap the alias atomically, then copy
        what was written to the old index during the copy. The old index is kept (for a
        rollback); delete it by hand once the new one is trusted.
        """
        if self._ready:
            return self.target
        current = self._alias_targets()
        if current != [self.target]:
            if not current and self.client.indices.exists(index=self.alias):
                raise SearchBackendError(
                    f"'{self.alias}' is a concrete index, not an alias; newsops reads and writes "
                    f"through an alias. Reindex it into '{self.target}' and add the alias, or "
                    f"choose another NEWSOPS_SEARCH_INDEX."
                )
            self.client.indices.put_index_template(
                name=f"{self.alias}-template", body=mapping.template_body(self.alias, self.body)
            )
            if not self.client.indices.exists(index=self.target):
                try:
                    self.client.indices.create(index=self.target, body=self.body)
                except Exception as e:
                    err = self._error(e)
                    if not (err and "already_exists" in err[1]):
                        raise
            if current:
                self._migrate(current)
            else:
                self._update_aliases([{"add": {"index": self.target, "alias": self.alias}}])
        self._ready = True
        return self.target

    def _migrate(self, old: list[str]) -> None:
        log.warning("search: mapping changed; reindexing %s into %s", old, self.target)
        self.client.reindex(
            body={"source": {"index": old}, "dest": {"index": self.target}},
            refresh=True, wait_for_completion=True,
        )
        actions: list[dict[str, Any]] = [{"remove": {"index": i, "alias": self.alias}} for i in old]
        actions.append({"add": {"index": self.target, "alias": self.alias}})
        self._update_aliases(actions)
        # Documents created in the old index while the first copy ran; updates made during that
        # window are not carried over (the next pipeline run rewrites them anyway).
        self.client.reindex(
            body={"conflicts": "proceed", "source": {"index": old},
                  "dest": {"index": self.target, "op_type": "create"}},
            refresh=True, wait_for_completion=True,
        )

    def _update_aliases(self, actions: list[dict[str, Any]]) -> None:
        try:
            self.client.indices.update_aliases(body={"actions": actions})
        except Exception:
            # Another writer may have swapped it first; that is the state we wanted.
            if self._alias_targets() != [self.target]:
                raise

    # -- writes -------------------------------------------------------------------------------

    def _actions(self, documents: Iterable[Any], outcome: IndexOutcome) -> Iterator[Action]:
        for position, raw in enumerate(documents):
            outcome.received += 1
            try:
                prepared = prepare(raw, position)
            except DocumentRejected as e:
                outcome.failed.append({"id": e.doc_id, "reason": e.reason})
                continue
            doc = prepared.doc
            doc["embedding"] = None if prepared.vector is None else prepared.vector.tolist()
            # "index" (not "create") overwrites: a re-run replaces the article, never duplicates.
            yield {"_op_type": "index", "_index": self.alias, "_id": doc["id"], "_source": doc}

    def index(self, documents: Iterable[dict[str, Any]]) -> IndexOutcome:
        self.ensure_index()
        outcome = IndexOutcome()
        run_bulk(self._actions(documents, outcome), self._send_bulk, self.bulk_policy, outcome,
                 request_errors=self._request_errors)
        if self.refresh:
            try:
                self.client.indices.refresh(index=self.alias)
            except Exception as e:
                # The documents are indexed; they only become searchable a second later.
                log.warning("search: refresh after bulk failed: %s", e)
        return outcome

    # -- reads --------------------------------------------------------------------------------

    def count(self, *, run_id: str | None = None) -> int:
        self.ensure_index()
        query = {"term": {"run_id": run_id}} if run_id else {"match_all": {}}
        return int(self.client.count(index=self.alias, body={"query": query})["count"])

    def get(self, doc_id: str) -> dict[str, Any] | None:
        self.ensure_index()
        try:
            return dict(self.client.get(index=self.alias, id=doc_id)["_source"])
        except Exception as e:
            if (err := self._error(e)) and err[0] == 404:
                return None
            raise

    def search(self, query: SearchQuery) -> SearchResult:
        self.ensure_index()
        started = time.perf_counter()
        if query.similar_to:
            result = self._similar(query)
        else:
            result = self._full_text(query)
        result.took_ms = (time.perf_counter() - started) * 1000
        return result

    def _full_text(self, q: SearchQuery) -> SearchResult:
        must = text_clauses(q.text) if q.text else []
        body: dict[str, Any] = {
            "query": {"bool": {"must": must or [{"match_all": {}}], "filter": filter_clauses(q)}},
            "from": q.offset,
            "size": q.size,
            "track_total_hits": True,
            "_source": {"excludes": ["embedding"]},
            "sort": (["_score"] if must else [])
            + [{"published": {"order": "desc", "missing": "_last"}}, {"id": "asc"}],
        }
        if q.facets:
            body["aggs"] = facet_aggs()
        resp = self.client.search(index=self.alias, body=body)
        hits = [hit_from_source(h["_source"], h.get("_score") if must else None)
                for h in resp["hits"]["hits"]]
        return SearchResult(total=int(resp["hits"]["total"]["value"]), hits=hits,
                            facets=read_facets(resp.get("aggregations")))

    def _similar(self, q: SearchQuery) -> SearchResult:
        source = self.get(q.similar_to or "")
        vector = (source or {}).get("embedding")
        if not vector:
            return SearchResult(total=0, hits=[])
        k = q.offset + q.size
        filters = filter_clauses(q)
        exclude = {"ids": {"values": [q.similar_to]}}
        if self._native_knn:
            try:
                return self._native_similar(q, vector, k, filters, exclude)
            except Exception as e:
                if not self._knn_unsupported(e):
                    raise
                log.warning("search: the server has no kNN search (%s); computing similarity "
                            "exactly in the client, for at most %d documents", e, self.exact_knn_limit)
                self._native_knn = False
        return self._exact_similar(q, vector, k, filters, exclude)

    def _knn_unsupported(self, exc: BaseException) -> bool:
        err = self._error(exc)
        if not err or err[0] != 400:
            return False
        status, kind, reason = err
        text = f"{kind} {reason}".lower()
        return "knn" in text and ("not supported" in text or "unknown" in text or "no [query]" in text)

    def _native_similar(self, q: SearchQuery, vector: list[float], k: int,
                        filters: list[dict[str, Any]], exclude: dict[str, Any]) -> SearchResult:
        body = knn_body(self.dialect, vector, k, filters, exclude)
        body.update({"from": q.offset, "size": q.size, "_source": {"excludes": ["embedding"]}})
        if q.facets:
            body["aggs"] = facet_aggs()
        resp = self.client.search(index=self.alias, body=body)
        hits = [hit_from_source(h["_source"], h.get("_score")) for h in resp["hits"]["hits"]]
        return SearchResult(total=min(k, int(resp["hits"]["total"]["value"])), hits=hits,
                            facets=read_facets(resp.get("aggregations")))

    def _exact_similar(self, q: SearchQuery, vector: list[float], k: int,
                       filters: list[dict[str, Any]], exclude: dict[str, Any]) -> SearchResult:
        """Brute-force cosine over every candidate's vector, for servers without kNN search."""
        body = {"query": {"bool": {"filter": [*filters, {"exists": {"field": "embedding"}}],
                                   "must_not": [exclude]}},
                "_source": ["embedding"]}
        ids: list[str] = []
        rows: list[list[float]] = []
        for hit in self._scan(body):
            if len(ids) >= self.exact_knn_limit:
                raise SearchBackendError(
                    f"similar-article search needs the server's kNN search above "
                    f"{self.exact_knn_limit} documents, and this server does not offer it"
                )
            ids.append(hit["_id"])
            rows.append(hit["_source"]["embedding"])
        if not ids:
            return SearchResult(total=0, hits=[])
        matrix = np.asarray(rows, dtype=np.float32)
        matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
        query_vec = np.asarray(vector, dtype=np.float32)
        query_vec /= max(float(np.linalg.norm(query_vec)), 1e-12)
        scores = (1.0 + matrix @ query_vec) / 2.0  # the products' cosine score scale
        order = np.argsort(-scores, kind="stable")[:k]
        top = [(ids[i], float(scores[i])) for i in order]
        page = top[q.offset:]
        sources: dict[str, dict[str, Any]] = {}
        if page:
            resp = self.client.search(index=self.alias, body={
                "query": {"ids": {"values": [i for i, _ in page]}}, "size": len(page),
                "_source": {"excludes": ["embedding"]}})
            sources = {h["_id"]: h["_source"] for h in resp["hits"]["hits"]}
        hits = [hit_from_source(sources[i], s) for i, s in page if i in sources]
        facets: dict[str, list[tuple[str, int]]] = {}
        if q.facets and top:
            resp = self.client.search(index=self.alias, body={
                "query": {"ids": {"values": [i for i, _ in top]}}, "size": 0,
                "aggs": facet_aggs()})
            facets = read_facets(resp.get("aggregations"))
        return SearchResult(total=len(top), hits=hits, facets=facets)
