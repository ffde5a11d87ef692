"""Fixtures of the operations tests: a Chalice app with the status blueprint and the log middleware.

app.py is not touched here: the test app registers exactly what app.py registers (the
blueprint and the middleware), so these tests do not wait for its wiring.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from chalice import Chalice

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"


def build_app() -> Chalice:
    from chalicelib.api.routes import bp
    from chalicelib.observability import log_context

    app = Chalice(app_name="newsops-ops-test")
    app.register_blueprint(bp)
    app.register_middleware(log_context, "all")
    return app


@pytest.fixture
def ops_app() -> Chalice:
    return build_app()


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
