"""The wheel works on its own: build it (not editable), install it in a clean venv, run the demo.

    .venv/bin/python scripts/check_wheel.py [--home DIR] [--keep] [--build-only DIR]

1. The wheel is built from a copy of the working tree (files git tracks or would track), so
   a stale ``build/`` or ``*.egg-info`` in the checkout can neither add nor hide a file.
2. A venv made with ``--without-pip`` gets the wheel with ``pip install --no-deps --no-index``
   (nothing is fetched). Its third-party dependencies come from the interpreter running this
   script, through one ``.pth`` line naming that interpreter's site-packages as a plain path:
   the ``.pth`` files there (the checkout's editable install among them) are not processed, so
   ``chalicelib``, ``newsops``, ``newsops_batch`` and ``app`` can only come from the wheel.
   pip runs inside the new venv (so the ``newsops`` script points at it) with
   ``--ignore-installed``: it never uninstalls the editable install it can see.
3. ``newsops demo --no-crawl`` runs in an empty folder outside the checkout, with no
   PYTHONPATH, and must print ``verifier: OK``. A fresh NEWSOPS_HOME trains the demo's
   company model first (minutes); ``--home DIR`` keeps the home between checks, so a rerun
   finds the model in the registry and skips training.

Exit status 0 when every step passed; the step that failed is named otherwise.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OWN_MODULES = ("chalicelib", "newsops", "newsops_batch", "app")
VERDICT_OK = "verifier: OK"


class CheckFailed(RuntimeError):
    """One step of the check failed; the message says which and why."""


def _run(cmd: list[str], *, what: str, **kw: object) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)  # type: ignore[call-overload]
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr)[-4000:]
        raise CheckFailed(f"{what} failed (exit {proc.returncode}):\n{tail}")
    return proc


def source_files(repo: Path = REPO) -> list[str]:
    """Files git tracks or would track (untracked but not ignored) that exist now."""
    out = _run(["git", "-C", str(repo), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
               what="git ls-files").stdout
    return sorted({name for name in out.split("\0") if name and (repo / name).is_file()})


def build_wheel(out_dir: Path, *, python: str = sys.executable, repo: Path = REPO) -> Path:
    """Build the project's wheel from a clean copy of the working tree into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="newsops-wheel-src-") as tmp:
        src = Path(tmp)
        for name in source_files(repo):
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(repo / name, src / name)
        # The build backend (setuptools) comes from this interpreter: no isolated build env
        # to download.
        _run([python, "-m", "pip", "wheel", "-q", "--disable-pip-version-check", "--no-deps",
              "--no-build-isolation", "--no-index", "-w", str(out_dir), str(src)], what="building the wheel")
    wheels = sorted(out_dir.glob("newsops-*.whl"))
    if len(wheels) != 1:
        raise CheckFailed(f"expected one newsops wheel in {out_dir}, found {[w.name for w in wheels]}")
    return wheels[0]


def make_venv(venv: Path, *, python: str = sys.executable) -> Path:
    """A venv without pip whose only other packages are ``python``'s, seen as a plain path."""
    _run([python, "-m", "venv", "--without-pip", str(venv)], what="creating the venv")
    vpy = venv / "bin" / "python"
    site = Path(_run([str(vpy), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                     what="asking the venv for its site-packages").stdout.strip())
    deps = dict.fromkeys(_run([python, "-c", "import sysconfig; p = sysconfig.get_paths(); "
                               "print(p['purelib']); print(p['platlib'])"],
                              what="asking for the dependencies' site-packages").stdout.split())
    (site / "_newsops_dependencies.pth").write_text("".join(f"{d}\n" for d in deps), encoding="utf-8")
    return vpy


def install(vpy: Path, wheel: Path) -> None:
    _run([str(vpy), "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-deps", "--no-index",
          "--ignore-installed", "--no-warn-script-location", str(wheel)], what="installing the wheel")


def clean_env(home: Path) -> dict[str, str]:
    """This process's environment without anything that points into the checkout or its venv."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "PYTHONSTARTUP")
           and not k.startswith("NEWSOPS_")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
               NEWSOPS_HOME=str(home))
    return env


def check_imports(vpy: Path, venv: Path, cwd: Path, env: dict[str, str]) -> None:
    """The project's modules load from the venv, never from the checkout."""
    code = "import importlib; " + "; ".join(f"print(importlib.import_module({m!r}).__file__)" for m in OWN_MODULES)
    files = _run([str(vpy), "-c", code], what="importing the installed modules", cwd=cwd, env=env).stdout.split()
    outside = [f for f in files if not Path(f).resolve().is_relative_to(venv.resolve())]
    if outside:
        raise CheckFailed(f"modules loaded from outside the installed wheel: {outside}")


def run_demo(venv: Path, cwd: Path, env: dict[str, str], timeout: float) -> str:
    try:
        proc = subprocess.run([str(venv / "bin" / "newsops"), "demo", "--no-crawl"], cwd=cwd, env=env,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise CheckFailed(f"newsops demo --no-crawl ran past {timeout:.0f}s") from exc
    out = proc.stdout + proc.stderr
    if proc.returncode != 0 or VERDICT_OK not in proc.stdout:
        raise CheckFailed(f"newsops demo --no-crawl: exit {proc.returncode}, no {VERDICT_OK!r}:\n{out[-6000:]}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="check_wheel", description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, default=None,
                        help="NEWSOPS_HOME kept between checks (a rerun skips training); default: a fresh one")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (wheel, venv, demo output)")
    parser.add_argument("--build-only", type=Path, default=None, metavar="DIR",
                        help="only build the wheel into DIR and print its path")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds the demo may take")
    args = parser.parse_args(argv)
    if args.build_only is not None:
        try:
            print(build_wheel(args.build_only))
        except CheckFailed as exc:
            print(f"check-wheel: {exc}", file=sys.stderr)
            return 1
        return 0
    work = Path(tempfile.mkdtemp(prefix="newsops-check-wheel-"))
    started = time.monotonic()
    step_started = started

    def step(name: str) -> None:
        nonlocal step_started
        now = time.monotonic()
        print(f"check-wheel: {name} ({now - step_started:.1f}s)", flush=True)
        step_started = now

    try:
        wheel = build_wheel(work / "dist")
        step(f"built {wheel.name} from a copy of the working tree")
        venv = work / "venv"
        install(make_venv(venv), wheel)
        step(f"installed it (--no-deps, --no-index) in a clean venv {venv}")
        cwd = work / "outside"
        cwd.mkdir()
        home = args.home.resolve() if args.home else cwd / ".newsops"
        env = clean_env(home)
        check_imports(venv / "bin" / "python", venv, cwd, env)
        step("chalicelib, newsops, newsops_batch and app load from the venv")
        out = run_demo(venv, cwd, env, args.timeout)
        (work / "demo.log").write_text(out, encoding="utf-8")
        trained = "training one on" in out
        step(f"newsops demo --no-crawl in {cwd}: {VERDICT_OK}"
             + (" (trained the company model first)" if trained else " (model found in the registry)"))
    except CheckFailed as exc:
        print(f"check-wheel: FAILED: {exc}", file=sys.stderr)
        print(f"check-wheel: work folder kept: {work}", file=sys.stderr)
        return 1
    print(f"check-wheel: OK in {time.monotonic() - started:.0f}s")
    if args.keep:
        print(f"check-wheel: work folder kept: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
