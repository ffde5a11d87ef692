"""Writing benchmark results in the shape of docs/design.md §8, and measuring a variant's peak RSS."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def write_result(name: str, metrics: dict[str, float], baseline: dict[str, float] | None,
                 ratio: float | None, goal: str, **extra: Any) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    doc = {"name": name, "machine": machine(), "metrics": metrics, "baseline": baseline,
           "ratio": ratio, "goal": goal, **extra}
    path.write_text(json.dumps(doc, indent=2) + "\n")
    return path


def run_fresh(script: Path, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run a variant in a fresh interpreter (a process's peak RSS never goes down) and read
    the JSON object it prints last."""
    out = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True,
                         env={**os.environ, **(env or {})}, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{script.name} {' '.join(args)} failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
