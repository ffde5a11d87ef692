"""The wheel carries every file the installed code reads at run time (issue #16).

`make check-wheel` proves it end to end (a clean venv runs `newsops demo --no-crawl`, minutes);
this builds the wheel only (seconds) and compares its file list with the repository's.
"""

from __future__ import annotations

import importlib.util
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _check_wheel_module():
    spec = importlib.util.spec_from_file_location("check_wheel", REPO / "scripts" / "check_wheel.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["check_wheel"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def wheel_files(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    wheel = _check_wheel_module().build_wheel(tmp_path_factory.mktemp("dist"))
    with zipfile.ZipFile(wheel) as zf:
        return set(zf.namelist())


def _repo_files(*patterns: str) -> set[str]:
    return {str(p.relative_to(REPO)) for pattern in patterns for p in REPO.glob(pattern)
            if p.is_file() and "__pycache__" not in p.parts}


def test_the_wheel_carries_the_packages_and_their_data_files(wheel_files: set[str]) -> None:
    shipped = _repo_files("chalicelib/**/*", "newsops/**/*")
    shipped |= {p.removeprefix("batch_container/") for p in _repo_files("batch_container/newsops_batch/**/*")}
    shipped = {p for p in shipped if not p.endswith(".pyc")}
    # The config, the dashboard and the sample generator's text among them, by name.
    for name in ("chalicelib/config/tasks.json", "chalicelib/config/prices.json",
                 "chalicelib/config/model_lock.json", "chalicelib/config/sources.json",
                 "chalicelib/api/dashboard.html", "chalicelib/api/openapi.json",
                 "newsops/sampledata/en.json", "newsops/sampledata/ja.json"):
        assert name in shipped
    assert sorted(shipped - wheel_files) == []


def test_the_wheel_carries_what_the_code_reads_outside_its_packages(wheel_files: set[str]) -> None:
    # app.py (the local runtime's handlers), the state machines and the demo's labelled data,
    # at the paths the code computes from its own location (see pyproject.toml).
    outside = _repo_files("app.py", "statemachine/*.asl.json", "data/ner-ja-stockmark/*")
    assert {"app.py", "statemachine/pipeline.asl.json", "statemachine/train.asl.json",
            "data/ner-ja-stockmark/train.jsonl", "data/ner-ja-stockmark/LICENSE.md"} <= outside
    assert sorted(outside - wheel_files) == []


def test_the_wheel_carries_no_tests_benchmarks_or_scripts(wheel_files: set[str]) -> None:
    tops = {name.split("/", 1)[0] for name in wheel_files}
    assert tops == {"app.py", "chalicelib", "newsops", "newsops_batch", "statemachine", "data",
                    "newsops-0.1.0.dist-info"}
