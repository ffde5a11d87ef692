"""Choosing the adapter from the settings, and failing clearly on a client/product mismatch."""

from __future__ import annotations

import boto3
import pytest

from chalicelib.search.elasticsearch import ElasticsearchSearchIndex, connect_elasticsearch
from chalicelib.search.errors import SearchConfigError
from chalicelib.search.factory import build_search_index, detect_product, redact
from chalicelib.search.local import LocalSearchIndex
from chalicelib.search.opensearch import OpenSearchSearchIndex, aws_endpoint, connect_opensearch
from chalicelib.settings import Settings
from tests.support.osmem import ELASTICSEARCH_9_ROOT, OPENSEARCH_ROOT, FakeClusterRoot


def test_local_is_the_default(tmp_path):
    index = build_search_index(Settings(home=tmp_path))
    assert isinstance(index, LocalSearchIndex)
    assert index.path == tmp_path / "search.sqlite3"


def test_opensearch_backend_against_an_opensearch_server(osmem_clone_url):
    index = build_search_index(Settings(search_backend="opensearch", search_url=osmem_clone_url,
                                        search_index="articles"))
    assert isinstance(index, OpenSearchSearchIndex)
    assert index.alias == "articles" and index.dialect == "opensearch"
    assert index.count() == 0


def test_elasticsearch_client_pointed_at_opensearch_fails_with_the_setting_to_change(osmem_clone_url):
    # The unshimmed client, as production would build it, against osmem (OpenSearch 3.8).
    settings = Settings(search_backend="elasticsearch", search_url=osmem_clone_url)
    with pytest.raises(SearchConfigError, match="opensearch 3.8.0: set NEWSOPS_SEARCH_BACKEND=opensearch"):
        build_search_index(settings)


def test_elasticsearch_client_against_a_server_without_the_product_header():
    # Real OpenSearch (and Amazon OpenSearch Service) does not send X-Elastic-Product.
    with FakeClusterRoot(OPENSEARCH_ROOT) as fake:
        settings = Settings(search_backend="elasticsearch", search_url=fake.url)
        with pytest.raises(SearchConfigError, match="not Elasticsearch.*NEWSOPS_SEARCH_BACKEND=opensearch"):
            build_search_index(settings)


def test_opensearch_client_pointed_at_elasticsearch_fails_with_the_setting_to_change():
    with FakeClusterRoot(ELASTICSEARCH_9_ROOT, headers={"X-Elastic-Product": "Elasticsearch"}) as fake:
        settings = Settings(search_backend="opensearch", search_url=fake.url)
        with pytest.raises(SearchConfigError,
                           match="elasticsearch 9.1.0: set NEWSOPS_SEARCH_BACKEND=elasticsearch"):
            build_search_index(settings)


def test_elasticsearch_backend_against_elasticsearch_9():
    with FakeClusterRoot(ELASTICSEARCH_9_ROOT, headers={"X-Elastic-Product": "Elasticsearch"}) as fake:
        index = build_search_index(Settings(search_backend="elasticsearch", search_url=fake.url))
    assert isinstance(index, ElasticsearchSearchIndex) and index.dialect == "elasticsearch"
    assert index.body["mappings"]["properties"]["embedding"]["type"] == "dense_vector"


def test_an_older_elasticsearch_is_refused():
    root = {**ELASTICSEARCH_9_ROOT, "version": {**ELASTICSEARCH_9_ROOT["version"], "number": "8.15.0"}}
    with FakeClusterRoot(root, headers={"X-Elastic-Product": "Elasticsearch"}) as fake:
        with pytest.raises(SearchConfigError, match="needs an Elasticsearch 9 server"):
            build_search_index(Settings(search_backend="elasticsearch", search_url=fake.url))


def test_a_cluster_backend_needs_a_url():
    with pytest.raises(SearchConfigError, match="needs NEWSOPS_SEARCH_URL"):
        build_search_index(Settings(search_backend="opensearch", search_url=""))


def test_the_unshimmed_elasticsearch_client_cannot_write_to_osmem(osmem_clone_url):
    # Why tests/support/osmem.py rewrites the media type (and why production never needs to).
    from elasticsearch import ApiError

    client = connect_elasticsearch(osmem_clone_url, max_retries=0)
    with pytest.raises(ApiError) as err:
        client.indices.create(index="x", body={"mappings": {"properties": {"a": {"type": "keyword"}}}})
    assert err.value.meta.status == 406


def test_product_detection_and_redaction():
    assert detect_product(OPENSEARCH_ROOT) == "opensearch"
    assert detect_product(ELASTICSEARCH_9_ROOT) == "elasticsearch"
    assert detect_product({"version": {"number": "1"}}) == "unknown"
    assert redact("https://user:secret@host:9200/x") == "https://host:9200/x"
    assert redact("http://host:9200") == "http://host:9200"


def test_amazon_opensearch_endpoints_are_recognised():
    assert aws_endpoint("search-news-abc123.eu-west-1.es.amazonaws.com") == ("eu-west-1", "es")
    assert aws_endpoint("vpc-news-abc.ap-northeast-1.es.amazonaws.com") == ("ap-northeast-1", "es")
    assert aws_endpoint("k2x9.us-east-1.aoss.amazonaws.com") == ("us-east-1", "aoss")
    assert aws_endpoint("search.example.com") is None


def test_amazon_opensearch_requests_are_signed_with_sigv4():
    session = boto3.Session(aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret",
                            region_name="eu-west-1")
    with FakeClusterRoot(OPENSEARCH_ROOT) as fake:
        client = connect_opensearch(fake.url, aws_service="es", region="eu-west-1", session=session,
                                    max_retries=0)
        assert client.info()["version"]["distribution"] == "opensearch"
    auth = fake.requests[-1]["authorization"]
    assert auth.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/es/aws4_request" in auth
    assert "x-amz-date" in fake.requests[-1]


def test_basic_auth_comes_from_the_url():
    with FakeClusterRoot(OPENSEARCH_ROOT) as fake:
        url = fake.url.replace("http://", "http://reader:p%40ss@")
        connect_opensearch(url, max_retries=0).info()
    assert fake.requests[-1]["authorization"] == "Basic cmVhZGVyOnBAc3M="  # reader:p@ss


def test_amazon_endpoint_without_credentials_is_a_clear_error(monkeypatch):
    class NoCredentials:
        def get_credentials(self):
            return None

    with pytest.raises(SearchConfigError, match="needs SigV4.*no AWS credentials"):
        connect_opensearch("https://search-news-x.eu-west-1.es.amazonaws.com", session=NoCredentials())
