"""Session fixtures: build the templates and run each slow checker (cfn-lint, checkov) ONCE.

The checkers live in .venv-tools/ (`make tools`; `make test` installs them first).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from scripts.deploy import build_template, checks, package
from scripts.deploy.layout import BUILT_BOOTSTRAP, BUILT_TEMPLATE, REPO

FULL_APP = Path(__file__).parent / "fixtures" / "full_app" / "app.py"


@pytest.fixture(scope="session")
def stack() -> dict[str, Any]:
    """build/infra/newsops.json (and bootstrap.json), built from infra/ as `make deploy` does."""
    assert build_template.main(["--out", str(BUILT_TEMPLATE), "--bootstrap-out", str(BUILT_BOOTSTRAP)]) == 0
    return json.loads(BUILT_TEMPLATE.read_text())


@pytest.fixture(scope="session")
def resources(stack: dict[str, Any]) -> dict[str, Any]:
    return stack["Resources"]


@pytest.fixture(scope="session")
def packaged() -> dict[str, Path]:
    """`make package` on the real app, and on a stand-in app with every function and IAM routes."""
    return {
        "app": package.package("dev"),
        "full-app": package.package("dev", REPO / "build" / "checks" / "package-full",
                                    REPO / "build" / "checks" / "package-full-src", FULL_APP),
    }


@pytest.fixture(scope="session")
def check_report(stack: dict[str, Any], packaged: dict[str, Path]) -> checks.Report:
    try:
        checks.tool("cfn-lint")
    except checks.ToolMissing as exc:
        pytest.fail(str(exc))
    templates = checks.write_variants(stack)
    templates["bootstrap"] = BUILT_BOOTSTRAP
    templates.update({f"package:{k}": v for k, v in packaged.items()})
    # Without the runtime end-of-life rules: this verdict must not change with the calendar
    # (test_the_lambda_runtimes_end_of_life_is_stated_in_the_deploy_doc keeps those dates in sight).
    return checks.run_all(templates, stack, dated_rules=False)
