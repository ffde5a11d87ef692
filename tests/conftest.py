from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import app  # noqa: F401 - registers the handlers the local backend runs (chalicelib/runtime.py)
from chalicelib.clock import Clock

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
JOBS = REPO / "tests" / "support" / "jobs"


def fake_task(name: str, script: str = "fake_task.py", **extra: object) -> dict:
    """A task whose 'container' is a test script around the real entrypoint (no model load)."""
    return {"name": name, "kind": "text-classification", "model": "none", "model_version": "t1",
            "command": [sys.executable, str(JOBS / script)], "attempts": 2, "timeout_s": 30, **extra}


@pytest.fixture
def make_runtime(tmp_path: Path) -> Iterator:
    from chalicelib.factory import build_runtime
    from chalicelib.runtime import set_runtime
    from chalicelib.settings import Settings

    built = []

    def make(tasks: list[dict] | None = None, *, clock: Clock | None = None, **overrides: object):
        """``clock``: the runtime's "now" (a ManualClock); the system clock when not given."""
        tasks_file = tmp_path / f"tasks-{len(built)}.json"
        tasks_file.write_text(json.dumps({"tasks": tasks or [fake_task("fake")]}))
        settings = Settings(home=tmp_path / "home", tasks_file=tasks_file, workers=2,
                            retry_interval_scale=0.0, queue_wait_s=30, **overrides)
        rt = build_runtime(settings, clock=clock)
        set_runtime(rt)
        built.append(rt)
        return rt

    yield make
    for rt in built:
        rt.close()
    set_runtime(None)
