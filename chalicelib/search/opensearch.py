"""OpenSearch, and Amazon OpenSearch Service with SigV4, through ``opensearch-py``."""

from __future__ import annotations

import os
import re
from typing import Any
from urllib.parse import unquote, urlsplit

from opensearchpy import OpenSearch, RequestsHttpConnection, helpers
from opensearchpy.exceptions import ConnectionError as OSConnectionError
from opensearchpy.exceptions import TransportError

from chalicelib.search.cluster import ClusterSearchIndex
from chalicelib.search.errors import SearchConfigError

# search-news-abc.eu-west-1.es.amazonaws.com (managed domains, VPC ones included) and
# abc.eu-west-1.aoss.amazonaws.com (Serverless collections).
_AWS_HOST = re.compile(r"\.([a-z]{2}(?:-[a-z]+)+-\d+)\.(es|aoss)\.amazonaws\.com$")


def aws_endpoint(host: str) -> tuple[str, str] | None:
    """(region, SigV4 service) of an Amazon OpenSearch endpoint, None for any other host."""
    m = _AWS_HOST.search(host.lower())
    return (m.group(1), m.group(2)) if m else None


def connect_opensearch(
    url: str,
    *,
    aws_service: str | None = None,
    region: str | None = None,
    session: Any = None,
    **options: Any,
) -> OpenSearch:
    """A client for ``url``.

    An Amazon OpenSearch endpoint (or an explicit ``aws_service``: ``es`` or ``aoss``, for a
    custom domain name) is signed with SigV4 using boto3's credential chain (the Lambda's
    role, the environment, a profile); ``https://user:password@host`` sends basic auth;
    anything else goes unauthenticated.
    """
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    scheme = parts.scheme or "http"
    port = parts.port or (443 if scheme == "https" else 9200)
    http_auth: Any = None
    detected = aws_endpoint(host)
    if aws_service or detected:
        service = aws_service or detected[1]  # type: ignore[index]
        region = region or (detected[0] if detected else None) or os.environ.get("AWS_REGION") \
            or os.environ.get("AWS_DEFAULT_REGION")
        if not region:
            raise SearchConfigError(f"cannot tell the AWS region of {host}; set AWS_REGION")
        import boto3  # only the SigV4 path needs it; Lambda's runtime provides it
        from opensearchpy import AWSV4SignerAuth

        credentials = (session or boto3.Session()).get_credentials()
        if credentials is None:
            raise SearchConfigError(
                f"{host} is an Amazon OpenSearch endpoint, which needs SigV4, but boto3 found "
                f"no AWS credentials"
            )
        http_auth = AWSV4SignerAuth(credentials, region, service)
    elif parts.username:
        http_auth = (unquote(parts.username), unquote(parts.password or ""))
    defaults: dict[str, Any] = {"timeout": 30, "max_retries": 3, "retry_on_timeout": True,
                                "http_compress": True}
    return OpenSearch(
        hosts=[{"host": host, "port": port}],
        use_ssl=scheme == "https",
        verify_certs=scheme == "https",
        http_auth=http_auth,
        # The requests transport is the one AWSV4SignerAuth signs.
        connection_class=RequestsHttpConnection,
        url_prefix=parts.path.rstrip("/"),
        **(defaults | options),
    )


class OpenSearchSearchIndex(ClusterSearchIndex):
    _helpers = helpers

    def __init__(self, client: OpenSearch, **kw: Any) -> None:
        kw.setdefault("dialect", "opensearch")
        super().__init__(client, **kw)

    @property
    def _request_errors(self) -> tuple[type[BaseException], ...]:
        return (OSConnectionError,)

    def _error(self, exc: BaseException) -> tuple[int | None, str, str] | None:
        if not isinstance(exc, TransportError) or isinstance(exc, OSConnectionError):
            return None
        status = exc.status_code if isinstance(exc.status_code, int) else None
        info = exc.info if isinstance(exc.info, dict) else {}
        error = info.get("error")
        if isinstance(error, dict):
            return status, str(error.get("type", "")), str(error.get("reason", ""))
        return status, str(exc.error), str(error or exc.error)
