"""Fixtures of the inference tests: tiny models built once per session (see tinymodels)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.inference.tinymodels import build


@pytest.fixture(autouse=True)
def _exact_precision(monkeypatch: pytest.MonkeyPatch) -> None:
    """fp32 here: tests compare exactly; bf16's agreement is measured by the benchmark."""
    monkeypatch.setenv("NEWSOPS_PRECISION", "fp32")


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny-models")
    return {k: build(root / k, k) for k in ("embedding", "ner", "rigged_ner", "classifier")}


@pytest.fixture
def spec_for() -> Callable[..., object]:
    from chalicelib.contract.schema import TaskSpec

    def make(kind: str, model: Path | str, **extra: object) -> TaskSpec:
        data = {"name": extra.pop("name", kind.replace("-", "_")), "kind": kind, "model": str(model),
                "model_version": "t1", "max_length": 64, "batch_tokens": 512, **extra}
        return TaskSpec.model_validate(data)

    return make
