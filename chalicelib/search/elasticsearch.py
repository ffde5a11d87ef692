"""Elasticsearch (9.x) through the official ``elasticsearch`` client."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import elastic_transport
from elasticsearch import ApiError, Elasticsearch, helpers

from chalicelib.search.cluster import ClusterSearchIndex
from chalicelib.search.mapping import Product


def connect_elasticsearch(url: str, *, api_key: str | None = None, **options: Any) -> Elasticsearch:
    """A client for ``url``; ``https://user:password@host:9200`` sends basic auth."""
    parts = urlsplit(url)
    basic_auth = None
    if parts.username:
        basic_auth = (unquote(parts.username), unquote(parts.password or ""))
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        url = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    defaults: dict[str, Any] = {"request_timeout": 30, "retry_on_timeout": True, "max_retries": 3,
                                "http_compress": True}
    return Elasticsearch(url, basic_auth=basic_auth, api_key=api_key, **(defaults | options))


class ElasticsearchSearchIndex(ClusterSearchIndex):
    """``dialect`` is the server's product; it is ``"elasticsearch"`` except in the tests, which
    drive this client against an OpenSearch-compatible server."""

    _helpers = helpers

    def __init__(self, client: Elasticsearch, *, dialect: Product = "elasticsearch", **kw: Any) -> None:
        super().__init__(client, dialect=dialect, **kw)

    @property
    def _request_errors(self) -> tuple[type[BaseException], ...]:
        return (elastic_transport.ConnectionError, elastic_transport.ConnectionTimeout)

    def _error(self, exc: BaseException) -> tuple[int | None, str, str] | None:
        if not isinstance(exc, ApiError):
            return None
        body = exc.body if isinstance(exc.body, dict) else {}
        error = body.get("error")
        if isinstance(error, dict):
            return exc.meta.status, str(error.get("type", "")), str(error.get("reason", ""))
        return exc.meta.status, str(exc.message), str(error or exc.message)
