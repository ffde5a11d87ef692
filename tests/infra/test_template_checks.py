"""The issue's gate: 0 cfn-lint errors, 0 failed checkov checks, statelint clean, workflows valid."""

from __future__ import annotations

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
        assert len(c.get("check_result", {}).get("suppress_comment", "") or "x" * 20) >= 20, \
            f"{c['check_id']} on {c['resource']} is suppressed without a reason"


def test_statelint_accepts_the_substituted_definition(check_report: checks.Report) -> None:
    assert not check_report.statelint, "statelint:\n" + "\n".join(check_report.statelint)


def test_workflows_match_the_github_schema(check_report: checks.Report) -> None:
    assert not check_report.workflows, "\n".join(check_report.workflows)
