"""The batch job's own dependency set (issue #15): its import check, and how `make test` runs it.

`make test` builds .venv-job/ as batch_container/Dockerfile builds the image (mk/jobenv.mk) and
runs the image's import check there; these tests prove that check fails on what the image
would lack, and that the make target and the Dockerfile stay the same recipe.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from newsops_batch import importcheck

REPO = Path(__file__).resolve().parents[1]
DOCKERFILE = REPO / "batch_container" / "Dockerfile"
REQUIREMENTS = REPO / "batch_container" / "requirements.txt"


def _run_check(tmp_path: Path, package: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO), str(REPO / "batch_container")])}
    return subprocess.run([sys.executable, "-m", "newsops_batch.importcheck", package], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, env=env)


def _package(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_the_check_names_each_module_the_job_imports_but_its_environment_lacks(tmp_path: Path) -> None:
    _package(tmp_path, {
        "fakejob/__init__.py": "",
        "fakejob/__main__.py": "raise SystemExit('importing __main__ would run the job')\n",
        "fakejob/entry.py": "import json\nimport pydantic\nimport undeclared_dist_at_top\n",
        "fakejob/tasks/__init__.py": "",
        "fakejob/tasks/lazy.py": ("from typing import TYPE_CHECKING\n"
                                  "if TYPE_CHECKING:\n    import only_for_type_checkers\n"
                                  "def load():\n    from undeclared_dist_inside import Model\n    return Model\n"),
        "fakejob/fine.py": "import numpy\nfrom chalicelib.contract import keys\n",
    })
    proc = _run_check(tmp_path, "fakejob")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    err = proc.stderr
    assert "fakejob.entry: No module named 'undeclared_dist_at_top'" in err
    assert "batch_container/requirements.txt" in err
    # an import inside a function, which only a real chunk would reach, is caught too
    assert re.search(r"fakejob\.tasks\.lazy:5: imports 'undeclared_dist_inside', which is not installed", err)
    assert "only_for_type_checkers" not in err and "fakejob.fine" not in err
    assert "would run the job" not in err, "__main__ is read, never imported"


def test_the_check_passes_when_everything_imported_is_installed(tmp_path: Path) -> None:
    _package(tmp_path, {"okjob/__init__.py": "import numpy\n",
                        "okjob/sub/__init__.py": "", "okjob/sub/m.py": "def f():\n    import pydantic\n"})
    proc = _run_check(tmp_path, "okjob")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("import check:")


def test_the_job_modules_are_all_walked() -> None:
    """Every module file of newsops_batch is one the check imports (task kinds, char-ner training)."""
    names = set(importcheck.walk("newsops_batch"))
    root = REPO / "batch_container" / "newsops_batch"
    files = {".".join(("newsops_batch", *p.relative_to(root).with_suffix("").parts)).removesuffix(".__init__")
             for p in root.rglob("*.py") if "__pycache__" not in p.parts}
    assert files == names
    assert {"newsops_batch.charner.training", "newsops_batch.trainjob", "newsops_batch.entrypoint",
            "newsops_batch.tasks.char_ner", "newsops_batch.tasks.spacy_ner"} <= names


def test_the_job_requirements_pin_exactly_what_the_constraints_pin() -> None:
    constraints = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)$", line.strip())
        if m:
            constraints[re.sub(r"[-_.]+", "-", m[1]).lower()] = m[2]
    for line in REQUIREMENTS.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)$", line)
        assert m, f"{line!r}: the job's requirements are exact pins"
        name = re.sub(r"[-_.]+", "-", m[1]).lower()
        assert constraints.get(name) == m[2], f"{line!r} disagrees with constraints.txt ({constraints.get(name)})"


def _copied_sources(dockerfile: str) -> set[str]:
    build = dockerfile[:dockerfile.index("\nFROM ", dockerfile.index("AS build"))]
    return {src for line in re.findall(r"^COPY (?!--from)(.+)$", build, re.M) for src in line.split()[:-1]}


def test_make_test_builds_the_job_environment_as_the_dockerfile_does_and_runs_its_check() -> None:
    dockerfile = DOCKERFILE.read_text()
    assert "python -m newsops_batch.importcheck" in dockerfile
    assert "pip install --no-deps ." in dockerfile
    plan = subprocess.run(["make", "-n", "-B", "check-job-env", "PYTHON=python3"], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert plan.returncode == 0, plan.stderr
    steps = plan.stdout
    # a clean venv; torch alone, the CPU build of the image's exact version; then the job's
    # requirements under the constraints, as in the Dockerfile
    assert "rm -rf .venv-job" in steps and "-m venv .venv-job" in steps
    torch = re.search(r"pip install .*\btorch==(\S+)", steps)
    assert torch and torch[1] == "2.13.0+cpu", "never the CUDA build"
    assert "pip install torch==2.13.0" in dockerfile
    assert steps.index("torch==") < steps.index("-c constraints.txt -r batch_container/requirements.txt")
    # only what the image copies is installed: newsops/ (the CLI) is not in the image
    staged = set(re.findall(r"^cp (\S+) ", steps, re.M))
    tar = re.search(r"^tar -c (.*?)\\?\n?\s*\| tar -x", steps, re.M | re.S)
    assert tar, steps
    staged |= {s for s in tar[1].split() if not s.startswith("--")}
    assert _copied_sources(dockerfile) == {"constraints.txt", "batch_container/requirements.txt", "pyproject.toml",
                                           "chalicelib", "batch_container/newsops_batch"}
    assert staged == {"pyproject.toml", "chalicelib", "batch_container/newsops_batch"}
    assert "--no-deps" in steps and "-m newsops_batch.importcheck" in steps and "-m chalicelib.modellock check" in steps
    test_plan = subprocess.run(["make", "-n", "test", "PYTHON=python3"], cwd=REPO,
                               capture_output=True, text=True, timeout=60)
    assert "-m newsops_batch.importcheck" in test_plan.stdout, "`make test` runs the job's import check"
