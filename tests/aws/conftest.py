from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.aws.moto_world import World, mocked_aws


@pytest.fixture
def moto_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto, executing state machines, with the pipeline patches; no resources yet."""
    with mocked_aws(monkeypatch, execute=True):
        yield


@pytest.fixture
def world(moto_env: None) -> Iterator[World]:
    """The whole deployment in moto, one task ("fake") registered."""
    w = World.create()
    try:
        yield w
    finally:
        w.stop_all()


@pytest.fixture
def pipeline_world(world: World) -> World:
    """The deployment with statemachine/pipeline.asl.json, substituted as deployment does."""
    world.add_pipeline()
    return world
