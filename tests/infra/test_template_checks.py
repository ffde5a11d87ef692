"""The issue's gate: 0 cfn-lint errors, 0 failed checkov checks, statelint clean, workflows valid."""

from __future__ import annotations

import json
import re

from scripts.deploy import checks
from scripts.deploy.layout import REPO


def test_cfn_lint_reports_no_error(check_report: checks.Report) -> None:
    errors = check_report.cfn_lint_errors
    assert not errors, "cfn-lint errors:\n" + checks.format_report(check_report)


def test_cfn_lint_reports_no_warning_either(check_report: checks.Report) -> None:
    assert not check_report.cfn_lint, "cfn-lint warnings:\n" + checks.format_report(check_report)


def test_checkov_has_no_failed_check(check_report: checks.Report) -> None:
    report = check_report.checkov
    assert report["passed"] > 0, "checkov ran no check at all"
    assert {"cloudformation", "github_actions"} <= set(report["frameworks"]), report["frameworks"]
    assert not report["parsing_errors"], f"checkov could not parse {report['parsing_errors']}"
    assert not report["failed"], "checkov failed checks:\n" + checks.format_report(check_report)


def test_every_suppressed_check_is_documented_with_its_reason(check_report: checks.Report) -> None:
    doc = (REPO / "docs" / "deploy.md").read_text()
    section = doc.split("## Suppressed checkov checks", 1)[-1]
    skipped = {c["check_id"] for c in check_report.checkov["skipped"]}
    assert skipped, "expected the documented suppressions to be in effect"
    undocumented = sorted(i for i in skipped if not re.search(rf"\|\s*{i}\s*\|", section))
    assert not undocumented, f"suppressed in templates but not listed in docs/deploy.md: {undocumented}"
    for c in check_report.checkov["skipped"]:
        # checkov writes "No comment provided" where a skip gives no reason.
        reason = (c.get("check_result", {}).get("suppress_comment") or "").strip()
        assert reason != "No comment provided" and len(reason) >= 20, \
            f"{c['check_id']} on {c['resource']} is suppressed without a reason ({reason!r})"


def test_statelint_accepts_the_substituted_definition(check_report: checks.Report) -> None:
    assert not check_report.statelint, "statelint:\n" + "\n".join(check_report.statelint)


def test_workflows_match_the_github_schema(check_report: checks.Report) -> None:
    assert not check_report.workflows, "\n".join(check_report.workflows)


def test_the_lambda_runtimes_end_of_life_is_stated_in_the_deploy_doc(packaged: dict) -> None:
    """The gate above leaves out cfn-lint's runtime end-of-life rules, whose verdict changes with
    the calendar (`make test` would start failing on that day, with no change here). The dates
    stay in sight instead: docs/deploy.md states them as the pinned cfn-lint has them, and
    `make check-templates` / `make deploy` still apply those rules on the real date."""
    functions = [r for path in packaged.values() for r in json.loads(path.read_text())["Resources"].values()
                 if r["Type"] in ("AWS::Serverless::Function", "AWS::Lambda::Function")]
    runtimes = {f["Properties"]["Runtime"] for f in functions}
    assert runtimes, "no Lambda function with a runtime in the packaged templates"
    lifecycle = checks.lambda_runtime_lifecycle()
    doc = (REPO / "docs" / "deploy.md").read_text()
    for runtime in sorted(runtimes):
        dates = lifecycle.get(runtime)
        if dates is None:
            continue  # no end of life announced for it yet
        stated = [runtime, dates["deprecated"], dates["create-block"], dates["update-block"]]
        assert all(s in doc for s in stated), f"docs/deploy.md must state {stated} (cfn-lint's data)"
