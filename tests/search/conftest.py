"""Fixtures for the search tests: one suite, three engines.

``make_index`` is parameterised over the local engine, osmem through opensearch-py, and osmem
through elasticsearch-py (with the media-type shim). Each cluster test gets its own clone of a
session-wide osmem-server process, so tests never see each other's indices.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib.search.base import SearchIndex
from chalicelib.search.local import LocalSearchIndex
from tests.support.osmem import cluster_index, running_osmem

BACKENDS = ["local", "opensearch-py", "elasticsearch-py"]
CLUSTER_CLIENTS = ["opensearch-py", "elasticsearch-py"]


@pytest.fixture(scope="session")
def osmem_process() -> Iterator[Any]:
    with running_osmem() as server:
        yield server


@pytest.fixture
def osmem_clone_url(osmem_process: Any) -> Iterator[str]:
    clone = osmem_process.clone()
    yield clone.url
    clone.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def make_index(backend: str, request: pytest.FixtureRequest, tmp_path: Path
               ) -> Callable[..., SearchIndex]:
    def make(dims: int = 4, **kw: Any) -> SearchIndex:
        if backend == "local":
            return LocalSearchIndex(tmp_path / "search.sqlite3", dims=dims)
        url = request.getfixturevalue("osmem_clone_url")
        return cluster_index(backend, url, dims=dims, **kw)

    return make


@pytest.fixture(params=CLUSTER_CLIENTS)
def cluster_client(request: pytest.FixtureRequest) -> str:
    return request.param
