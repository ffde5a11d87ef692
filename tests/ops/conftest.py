"""Fixtures of the operations tests: a Chalice app with the status blueprint and the log middleware.

The app is the project's app.py, which registers the status blueprint and the middleware.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path

import pytest
from chalice import Chalice

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"


@functools.cache
def build_app() -> Chalice:
    """The project's own app.py: Chalice's registration pops the route options (authorizer,
    methods) out of the blueprint's stored kwargs, so the blueprint is registered once, there."""
    import app

    return app.app


@pytest.fixture
def ops_app() -> Chalice:
    return build_app()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Chalice's local gateway admits IAM routes with a warning per request: documented, expected.
    for item in items:
        if "tests/ops/" in str(item.fspath):
            item.add_marker(pytest.mark.filterwarnings("ignore:IAMAuthorizer is not a supported"))


@pytest.fixture
def served(ops_app: Chalice) -> Iterator[str]:
    """The app on Chalice's local server (a thread), as ``newsops serve`` runs it; yields its base URL."""
    import threading

    from newsops.serve import make_server

    server = make_server("127.0.0.1", 0, ops_app)
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server.server_address[:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        server.server.shutdown()
        server.server.server_close()
        thread.join(5)
