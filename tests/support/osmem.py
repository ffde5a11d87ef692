"""Test support for the search adapters: the osmem server, the elasticsearch-py shim, a 429 proxy.

osmem-server (PyPI ``osmem-server``) is an OpenSearch-compatible server in one static binary,
bundled in the wheel at ``osmem_server/bin/osmem-server``. The tests start it as a real process
on 127.0.0.1 (a free port) once per session and give each test its own copy-on-write clone.

elasticsearch-py 9 sends ``application/vnd.elasticsearch+json; compatible-with=9``, which only
Elasticsearch understands (osmem answers 406, as OpenSearch does). :class:`OsmemCompatNode`
rewrites that media type to plain JSON. It lives here, in test support, on purpose: in
production the elasticsearch client talks to Elasticsearch, and the factory refuses to point
it at OpenSearch.
"""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from http.client import HTTPConnection
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import elastic_transport
from osmem_server import OsmemServer

from chalicelib.search.base import SearchIndex
from chalicelib.search.bulk import BulkPolicy
from chalicelib.search.elasticsearch import ElasticsearchSearchIndex, connect_elasticsearch
from chalicelib.search.opensearch import OpenSearchSearchIndex, connect_opensearch


@contextmanager
def running_osmem() -> Iterator[OsmemServer]:
    """An osmem-server process on 127.0.0.1 (it also exits when this process dies)."""
    server = OsmemServer.start(addr="127.0.0.1:0", japanese=False)
    try:
        yield server
    finally:
        server.close()


class OsmemCompatNode(elastic_transport.Urllib3HttpNode):
    """elasticsearch-py's HTTP node with its compatibility media type rewritten to plain JSON."""

    def perform_request(self, method: str, target: str, body: bytes | None = None,
                        headers: Any = None, **kwargs: Any) -> Any:
        rewritten = elastic_transport.HttpHeaders(headers or {})
        for name in ("accept", "content-type"):
            value = rewritten.get(name)
            if value and "compatible-with" in value:
                rewritten[name] = "application/x-ndjson" if "ndjson" in value else "application/json"
        return super().perform_request(method, target, body=body, headers=rewritten, **kwargs)


# Retries in milliseconds, not seconds: the tests check that they happen, not how long they wait.
FAST_BULK = BulkPolicy(initial_backoff_s=0.005, max_backoff_s=0.02, max_attempts=3)


def elasticsearch_client(url: str) -> Any:
    return connect_elasticsearch(url, node_class=OsmemCompatNode, max_retries=0)


def opensearch_client(url: str) -> Any:
    return connect_opensearch(url, max_retries=0)


def cluster_index(client_name: str, url: str, **kw: Any) -> SearchIndex:
    kw.setdefault("bulk", FAST_BULK)
    if client_name == "opensearch-py":
        return OpenSearchSearchIndex(opensearch_client(url), **kw)
    # The server is OpenSearch-compatible, so the mapping and kNN dialect are OpenSearch's;
    # what this exercises is the elasticsearch-py client path (helpers, errors, responses).
    return ElasticsearchSearchIndex(elasticsearch_client(url), dialect="opensearch", **kw)


class ThrottlingProxy:
    """A real HTTP proxy on 127.0.0.1 in front of a search server that rejects chosen bulk items
    with 429, the way a cluster under write pressure does (``es_rejected_execution_exception``).

    Rejected items are *not* forwarded, so a document only reaches the server if the client
    retries it. ``flaky`` ids are rejected ``times`` times, then pass; ``always`` ids never pass.
    """

    def __init__(self, upstream: str, *, flaky: Iterable[str] = (), times: int = 1,
                 always: Iterable[str] = ()) -> None:
        self.upstream = urlsplit(upstream)
        self.flaky = set(flaky)
        self.always = set(always)
        self.times = times
        self.rejections: dict[str, int] = {}
        self.bulk_requests = 0
        # The server's product header (elasticsearch-py checks it on every response), also on
        # bulk answers the proxy writes itself.
        self.product_headers: dict[str, str] = {}
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _relay(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() in ("content-type", "accept", "authorization")}
                path = urlsplit(self.path).path
                if path.endswith("/_bulk") and self.command in ("POST", "PUT"):
                    status, payload, ctype = proxy._bulk(self.path, body, headers)
                else:
                    status, payload, ctype = proxy._forward(self.command, self.path, body, headers)
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                for name, value in proxy.product_headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _relay

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)

    def __enter__(self) -> ThrottlingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _forward(self, method: str, path: str, body: bytes, headers: dict[str, str]
                 ) -> tuple[int, bytes, str]:
        conn = HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=30)
        try:
            conn.request(method, path, body=body or None, headers=headers)
            resp = conn.getresponse()
            payload = resp.read()
            product = resp.getheader("X-Elastic-Product")
            if product:
                self.product_headers["X-Elastic-Product"] = product
            return resp.status, payload, resp.getheader("Content-Type") or "application/json"
        finally:
            conn.close()

    def _reject(self, doc_id: str) -> bool:
        with self._lock:
            seen = self.rejections.get(doc_id, 0)
            if doc_id in self.always or (doc_id in self.flaky and seen < self.times):
                self.rejections[doc_id] = seen + 1
                return True
            return False

    def _bulk(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes, str]:
        with self._lock:
            self.bulk_requests += 1
        lines = [line for line in body.split(b"\n") if line.strip()]
        items: list[tuple[bytes, bytes | None, str, str]] = []
        i = 0
        while i < len(lines):
            action = json.loads(lines[i])
            (op, meta), = action.items()
            source = lines[i + 1] if op != "delete" else None
            items.append((lines[i], source, op, str(meta.get("_id"))))
            i += 2 if source is not None else 1
        rejected = [self._reject(doc_id) for *_, doc_id in items]
        forward = [it for it, rej in zip(items, rejected, strict=True) if not rej]
        upstream_items: list[dict[str, Any]] = []
        if forward:
            payload = b"".join(a + b"\n" + (s + b"\n" if s is not None else b"")
                               for a, s, _, _ in forward)
            status, resp, _ = self._forward("POST", path, payload, headers)
            if status != 200:
                return status, resp, "application/json"
            upstream_items = json.loads(resp)["items"]
        merged = []
        answered = iter(upstream_items)
        for (_, _, op, doc_id), rej in zip(items, rejected, strict=True):
            if rej:
                merged.append({op: {"_id": doc_id, "status": 429, "error": {
                    "type": "es_rejected_execution_exception",
                    "reason": "rejected execution of coordinating operation (injected by test proxy)",
                }}})
            else:
                merged.append(next(answered))
        errors = any(next(iter(m.values())).get("status", 200) >= 300 for m in merged)
        out = json.dumps({"took": 1, "errors": errors, "items": merged}).encode()
        return 200, out, "application/json"


class FakeClusterRoot:
    """A 127.0.0.1 HTTP server that answers ``GET /`` like a given product, and records the
    headers it receives (to check SigV4 signing and product detection without a real cluster)."""

    def __init__(self, info: dict[str, Any], *, headers: dict[str, str] | None = None) -> None:
        self.info = info
        self.extra_headers = headers or {}
        self.requests: list[dict[str, str]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake.requests.append({k.lower(): v for k, v in self.headers.items()})
                payload = json.dumps(fake.info).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                for k, v in fake.extra_headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)

    def __enter__(self) -> FakeClusterRoot:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


ELASTICSEARCH_9_ROOT = {
    "name": "es-node", "cluster_name": "es", "cluster_uuid": "x",
    "version": {"number": "9.1.0", "build_flavor": "default", "build_type": "docker",
                "lucene_version": "10.2.2", "minimum_wire_compatibility_version": "8.19.0",
                "minimum_index_compatibility_version": "8.0.0"},
    "tagline": "You Know, for Search",
}
OPENSEARCH_ROOT = {
    "name": "os-node", "cluster_name": "os", "cluster_uuid": "y",
    "version": {"distribution": "opensearch", "number": "2.19.1", "build_type": "tar",
                "lucene_version": "9.12.1"},
    "tagline": "The OpenSearch Project: https://opensearch.org/",
}

