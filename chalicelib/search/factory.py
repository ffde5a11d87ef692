"""Picks the search adapter from the settings, and refuses a client that does not fit the server.

``NEWSOPS_SEARCH_BACKEND`` names the client library: ``elasticsearch`` (elasticsearch-py 9,
for Elastic) or ``opensearch`` (opensearch-py, for OpenSearch and Amazon OpenSearch Service).
The server says what it is at ``GET /``; a mismatch fails here, at start-up, with the setting
to change, rather than later with a 406 or an unknown field type in the middle of a run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from chalicelib.search.base import SearchIndex
from chalicelib.search.errors import SearchConfigError
from chalicelib.settings import Settings

Product = Literal["elasticsearch", "opensearch", "unknown"]


def detect_product(info: Mapping[str, Any]) -> Product:
    """What a cluster's root endpoint says it is."""
    version = info.get("version") if isinstance(info.get("version"), Mapping) else {}
    if str(version.get("distribution", "")).lower() == "opensearch" or "opensearch" in str(
        info.get("tagline", "")
    ).lower():
        return "opensearch"
    if info.get("tagline") == "You Know, for Search" or "build_flavor" in version:
        return "elasticsearch"
    return "unknown"


def _describe(info: Mapping[str, Any]) -> str:
    version = info.get("version") if isinstance(info.get("version"), Mapping) else {}
    return f"{detect_product(info)} {version.get('number', '?')}"


def redact(url: str) -> str:
    """The URL without its credentials, for messages and logs."""
    parts = urlsplit(url)
    if not parts.username:
        return url
    netloc = f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


def check_elasticsearch(client: Any, url: str) -> None:
    from elasticsearch import ApiError, UnsupportedProductError

    try:
        info = dict(client.info())
    except UnsupportedProductError as e:
        # elasticsearch-py checks the X-Elastic-Product header; OpenSearch does not send it.
        raise SearchConfigError(
            f"the search server at {url} is not Elasticsearch ({e.message}); "
            f"for OpenSearch or Amazon OpenSearch Service set NEWSOPS_SEARCH_BACKEND=opensearch"
        ) from None
    except ApiError as e:
        if e.meta.status == 406:
            raise SearchConfigError(
                f"the search server at {url} refuses elasticsearch-py 9's media type "
                f"(HTTP 406): it is not Elasticsearch 9; for OpenSearch set "
                f"NEWSOPS_SEARCH_BACKEND=opensearch"
            ) from None
        raise
    product = detect_product(info)
    if product != "elasticsearch":
        raise SearchConfigError(
            f"NEWSOPS_SEARCH_BACKEND=elasticsearch, but the server at {url} is "
            f"{_describe(info)}: set NEWSOPS_SEARCH_BACKEND=opensearch"
        )
    major = str(info.get("version", {}).get("number", "0")).split(".")[0]
    if major.isdigit() and int(major) < 9:
        raise SearchConfigError(
            f"the server at {url} is Elasticsearch {info['version']['number']}; the elasticsearch "
            f"client here is 9.x and needs an Elasticsearch 9 server"
        )


def check_opensearch(client: Any, url: str) -> None:
    info = dict(client.info())
    if detect_product(info) != "opensearch":
        raise SearchConfigError(
            f"NEWSOPS_SEARCH_BACKEND=opensearch, but the server at {url} is {_describe(info)}: "
            f"set NEWSOPS_SEARCH_BACKEND=elasticsearch"
        )


def build_search_index(settings: Settings, *, verify: bool = True, dims: int = 384) -> SearchIndex:
    """The search adapter the settings name; ``verify`` asks the server what it is first."""
    backend = settings.search_backend
    if backend == "local":
        from chalicelib.search.local import LocalSearchIndex

        return LocalSearchIndex(settings.home / "search.sqlite3", dims=dims)
    url = settings.search_url.strip()
    if not url:
        raise SearchConfigError(
            f"NEWSOPS_SEARCH_BACKEND={backend} needs NEWSOPS_SEARCH_URL (the cluster's address)"
        )
    if backend == "elasticsearch":
        from chalicelib.search.elasticsearch import ElasticsearchSearchIndex, connect_elasticsearch

        es = connect_elasticsearch(url)
        if verify:
            check_elasticsearch(es, redact(url))
        return ElasticsearchSearchIndex(es, alias=settings.search_index, dims=dims)
    if backend == "opensearch":
        from chalicelib.search.opensearch import OpenSearchSearchIndex, connect_opensearch

        client = connect_opensearch(url)
        if verify:
            check_opensearch(client, redact(url))
        return OpenSearchSearchIndex(client, alias=settings.search_index, dims=dims)
    raise SearchConfigError(f"unknown NEWSOPS_SEARCH_BACKEND {backend!r}")
