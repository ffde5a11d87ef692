"""The batch image's import check: the job imports only what its requirements install.

Two checks, run where the job's environment was built from ``batch_container/requirements.txt``
alone (the image build, and ``make test`` in ``.venv-job``, built the same way):

1. every module of ``newsops_batch`` imports (``__main__`` is only read: importing it runs the
   job), so a module-level import of an undeclared distribution fails here, not on a GPU;
2. every import statement of those modules and of the ``chalicelib`` modules they load,
   including imports inside functions (the task kinds load their libraries lazily), names a
   module that is installed. Imports under ``if TYPE_CHECKING:`` never run and are skipped.

Usage: python -m newsops_batch.importcheck [PACKAGE ...]   (default: newsops_batch)
Exit 0, or 1 after naming each module that cannot import and what it lacks.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import importlib.util
import pkgutil
import sys
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# The job's own code: its imports of these are checked by importing them, not looked up.
FIRST_PARTY = ("newsops_batch", "chalicelib")
REQUIREMENTS = "batch_container/requirements.txt"


@dataclass(frozen=True)
class Problem:
    module: str  # the job's module that cannot import or names a missing one
    missing: str  # the module it lacks, or the error it raised
    line: int | None = None

    def text(self) -> str:
        where = f"{self.module}:{self.line}" if self.line else self.module
        return f"{where}: {self.missing}"


def walk(package: str) -> Iterator[str]:
    """The package and every module under it, by name."""
    root = importlib.import_module(package)
    yield package
    # A subpackage that fails to import is still listed; import_all records why it fails.
    for info in pkgutil.walk_packages(getattr(root, "__path__", []), package + ".",
                                      onerror=lambda _name: None):
        yield info.name


def import_all(package: str) -> tuple[list[str], list[Problem]]:
    names: list[str] = []
    problems: list[Problem] = []
    try:
        modules = list(walk(package))
    except Exception as exc:  # the package itself cannot import
        return [], [Problem(package, _reason(exc))]
    for name in modules:
        names.append(name)
        if name.rsplit(".", 1)[-1] == "__main__":
            continue  # importing it would run the job; its imports are read below
        try:
            importlib.import_module(name)
        except Exception as exc:  # any error: the job would die the same way at start
            problems.append(Problem(name, _reason(exc)))
    return names, problems


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        return f"No module named {exc.name!r} (declare its distribution in {REQUIREMENTS})"
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


def imported_names(source: str) -> Iterator[tuple[str, int]]:
    """(top-level module, line) of every absolute import, at any depth, but not those under
    ``if TYPE_CHECKING:``."""
    tree = ast.parse(source)
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            skipped.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.split(".")[0], node.lineno
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0], node.lineno


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def missing_imports(module_names: list[str]) -> list[Problem]:
    problems: list[Problem] = []
    for name in sorted(set(module_names)):
        spec = importlib.util.find_spec(name) if name in sys.modules or _exists(name) else None
        origin = getattr(spec, "origin", None)
        if not origin or not origin.endswith(".py"):
            continue
        for top, line in imported_names(Path(origin).read_text(encoding="utf-8")):
            if top in sys.stdlib_module_names or top in FIRST_PARTY or top == "__future__":
                continue
            if importlib.util.find_spec(top) is None:
                problems.append(Problem(name, f"imports {top!r}, which is not installed "
                                              f"(declare its distribution in {REQUIREMENTS})", line))
    return problems


def _exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def check(packages: list[str]) -> tuple[list[str], list[Problem]]:
    """The modules checked and what is wrong with them."""
    checked: list[str] = []
    problems: list[Problem] = []
    for package in packages:
        names, failed = import_all(package)
        checked += names
        problems += failed
    # The first-party modules the job loaded along the way (chalicelib's contracts, settings,
    # registry ...): their lazy imports run in the job too.
    loaded = [n for n in sys.modules if n.split(".")[0] in FIRST_PARTY]
    problems += missing_imports(sorted(set(checked) | set(loaded)))
    return sorted(set(checked) | set(loaded)), problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m newsops_batch.importcheck", description=__doc__.split("\n\n")[0])
    parser.add_argument("packages", nargs="*", default=["newsops_batch"])
    args = parser.parse_args(argv)
    checked, problems = check(args.packages)
    if problems:
        print(f"the job's environment lacks what its code imports ({len(problems)} problem(s)):",
              file=sys.stderr)
        for p in problems:
            print(f"  {p.text()}", file=sys.stderr)
        return 1
    print(f"import check: {len(checked)} modules of the job import, and everything they import "
          "is installed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
