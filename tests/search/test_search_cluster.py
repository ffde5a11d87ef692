"""Elasticsearch/OpenSearch specifics against osmem, through both clients: alias and versioned
indices, mapping migration, bulk with injected item failures."""

from __future__ import annotations

import copy
import logging

import pytest

from chalicelib.search import mapping
from chalicelib.search.base import SearchQuery
from chalicelib.search.bulk import BulkPolicy
from chalicelib.search.cluster import knn_body
from chalicelib.search.errors import SearchBackendError
from tests.search.search_corpus import CORPUS
from tests.support.osmem import ThrottlingProxy, cluster_index, opensearch_client


def raw(url):
    return opensearch_client(url)  # to look at the server behind the adapter's back


def test_documents_live_in_a_versioned_index_behind_the_alias(cluster_client, osmem_clone_url):
    index = cluster_index(cluster_client, osmem_clone_url, dims=4)
    index.index(copy.deepcopy(CORPUS))
    client = raw(osmem_clone_url)
    target = mapping.versioned_index("news", mapping.index_body("opensearch", 4))
    assert list(client.indices.get_alias(name="news")) == [target]
    props = client.indices.get_mapping(index=target)[target]["mappings"]["properties"]
    assert props["embedding"]["type"] == "knn_vector" and props["embedding"]["dimension"] == 4
    assert props["title"]["fields"]["cjk"]["analyzer"] == "newsops_cjk"
    assert props["companies"]["properties"]["normalized"]["type"] == "keyword"
    settings = client.indices.get_settings(index=target)[target]["settings"]["index"]
    assert settings["knn"] in (True, "true")
    assert client.indices.exists_index_template(name="news-template")
    # Fields nobody mapped are kept in the document but do not grow the mapping.
    index.index([{**CORPUS[0], "feeder_note": "kept"}])
    assert index.get("a")["feeder_note"] == "kept"
    props = client.indices.get_mapping(index=target)[target]["mappings"]["properties"]
    assert "feeder_note" not in props
    assert client.indices.get_mapping(index=target)[target]["mappings"]["properties"]["models"][
        "properties"]["ner"]["type"] == "keyword"


def test_a_mapping_change_reindexes_and_swaps_the_alias(cluster_client, osmem_clone_url, monkeypatch):
    old = cluster_index(cluster_client, osmem_clone_url, dims=4)
    old.index(copy.deepcopy(CORPUS))
    old_target = old.target

    real_body = mapping.index_body

    def changed_body(product, dims):
        body = real_body(product, dims)
        body["mappings"]["properties"]["sentiment"] = {"type": "float"}
        return body

    monkeypatch.setattr(mapping, "index_body", changed_body)
    new = cluster_index(cluster_client, osmem_clone_url, dims=4)
    assert new.target != old_target
    # Reading through the old adapter still works until the swap...
    assert old.count() == len(CORPUS)
    new.ensure_index()
    client = raw(osmem_clone_url)
    assert list(client.indices.get_alias(name="news")) == [new.target]
    assert client.indices.exists(index=old_target)  # kept for a rollback
    assert new.count() == len(CORPUS)
    assert {h["id"] for h in new.search(SearchQuery(text="決算")).hits} == {"a"}
    assert "sentiment" in client.indices.get_mapping(index=new.target)[new.target]["mappings"][
        "properties"]


def test_a_concrete_index_under_the_alias_name_is_refused(cluster_client, osmem_clone_url):
    raw(osmem_clone_url).indices.create(index="news", body={})
    index = cluster_index(cluster_client, osmem_clone_url, dims=4)
    with pytest.raises(SearchBackendError, match="concrete index, not an alias"):
        index.count()


def test_throttled_items_are_retried_and_every_document_ends_indexed_or_reported(
        cluster_client, osmem_clone_url, caplog):
    docs = [copy.deepcopy(d) for d in CORPUS]
    docs.append({"id": "short-vector", "title": "x", "embedding": [0.5]})  # mapping failure
    with ThrottlingProxy(osmem_clone_url, flaky={"a", "c", "d"}, times=2, always={"f"}) as proxy:
        index = cluster_index(cluster_client, proxy.url, dims=4,
                              bulk=BulkPolicy(initial_backoff_s=0.005, max_backoff_s=0.01,
                                              max_attempts=4, batch_docs=3))
        with caplog.at_level(logging.INFO, logger="chalicelib.search.bulk"):
            outcome = index.index(docs)
    reasons = {f["id"]: f["reason"] for f in outcome.failed}
    assert outcome.received == len(docs) and outcome.reconciled
    assert outcome.indexed == len(CORPUS) - 1
    assert set(reasons) == {"f", "short-vector"}
    assert "429" in reasons["f"] and "es_rejected_execution_exception" in reasons["f"]
    assert "gave up after 4 attempts" in reasons["f"]
    assert "mapper_parsing_exception" in reasons["short-vector"]
    # a, c and d were refused twice each before they got through; f four times.
    assert proxy.rejections == {"a": 2, "c": 2, "d": 2, "f": 4}
    assert outcome.retried == 2 + 2 + 2 + 3
    assert proxy.bulk_requests >= 3
    # What the server holds is exactly what the outcome says was indexed.
    direct = cluster_index(cluster_client, osmem_clone_url, dims=4)
    assert direct.count() == outcome.indexed
    assert direct.get("a") is not None and direct.get("f") is None
    assert any("transient failures" in r.message for r in caplog.records)


def test_an_unreachable_cluster_is_retried_then_reported(cluster_client, osmem_clone_url):
    index = cluster_index(cluster_client, osmem_clone_url, dims=4)
    index.ensure_index()
    # Point the same adapter at a port nobody listens on: every attempt fails on the connection.
    dead = cluster_index(cluster_client, "http://127.0.0.1:9", dims=4,
                         bulk=BulkPolicy(initial_backoff_s=0.001, max_backoff_s=0.001, max_attempts=2))
    dead._ready = True  # skip the alias check, which would fail first
    outcome = dead.index(copy.deepcopy(CORPUS[:2]))
    assert outcome.indexed == 0 and outcome.reconciled
    assert [f["id"] for f in outcome.failed] == ["a", "b"]
    assert all("gave up after 2 attempts" in f["reason"] for f in outcome.failed)
    assert outcome.retried == 2


def test_similar_articles_fall_back_to_exact_scoring_where_the_server_has_no_knn(
        cluster_client, osmem_clone_url, caplog):
    index = cluster_index(cluster_client, osmem_clone_url, dims=4, exact_knn_limit=3)
    index.index(copy.deepcopy(CORPUS))
    with caplog.at_level(logging.WARNING, logger="chalicelib.search.cluster"):
        # osmem answers a kNN query with 400 "not supported": the adapter says so and computes it.
        with pytest.raises(SearchBackendError, match="kNN search above 3 documents"):
            index.search(SearchQuery(similar_to="a"))
    assert any("no kNN search" in r.message for r in caplog.records)
    small = index.search(SearchQuery(similar_to="a", source="nikkei"))
    assert [h["id"] for h in small.hits] == ["b"]


def test_native_knn_requests_per_product():
    filters = [{"term": {"source": "x"}}]
    exclude = {"ids": {"values": ["a"]}}
    es = knn_body("elasticsearch", [0.1, 0.2], 7, filters, exclude)
    assert es["knn"]["field"] == "embedding" and es["knn"]["k"] == 7
    assert es["knn"]["num_candidates"] >= 7
    assert es["knn"]["filter"]["bool"] == {"filter": filters, "must_not": [exclude]}
    os_ = knn_body("opensearch", [0.1, 0.2], 7, filters, exclude)
    assert os_["query"]["knn"]["embedding"]["k"] == 7
    assert os_["query"]["knn"]["embedding"]["filter"]["bool"]["must_not"] == [exclude]


def test_mapping_per_product():
    es = mapping.index_body("elasticsearch", 384)
    assert es["mappings"]["properties"]["embedding"] == {
        "type": "dense_vector", "dims": 384, "index": True, "similarity": "cosine"}
    assert "knn" not in es["settings"]["index"]
    os_ = mapping.index_body("opensearch", 384)
    assert os_["mappings"]["properties"]["embedding"]["type"] == "knn_vector"
    assert os_["settings"]["index"]["knn"] is True
    for body in (es, os_):
        assert body["settings"]["analysis"]["analyzer"]["newsops_cjk"]["filter"][-1] == "cjk_bigram"
        assert body["mappings"]["properties"]["title"]["analyzer"] == "english"
    names = {mapping.versioned_index("news", b) for b in (es, os_, mapping.index_body("opensearch", 768))}
    assert len(names) == 3 and all(n.startswith("news-") for n in names)
