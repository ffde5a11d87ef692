"""Offline checks of everything the deploy ships: `make check-templates` and tests/infra.

- cfn-lint (0 errors) and checkov (0 failed checks) on the stack template in several
  parameter variants (checkov and cfn-lint judge conditional resources by the parameters'
  defaults, so the optional search domain and EFS cache get a variant where they exist),
  on the bootstrap template and on the `make package` template;
- checkov's GitHub Actions checks and the GitHub workflow JSON schema on .github/workflows;
- statelint on each state machine definition (pipeline, training) after DefinitionSubstitutions.

The heavy tools live in .venv-tools/ (`make tools`); each runs ONCE over all files, because
each takes seconds just to start.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scripts.deploy.layout import REPO

TOOLS = REPO / ".venv-tools" / "bin"
WORKFLOWS = REPO / ".github" / "workflows"
CHECKS_DIR = REPO / "build" / "checks"

# Representative values for the placeholders (statelint needs real-looking ARNs).
REPRESENTATIVE_SUBSTITUTIONS = {
    "JobQueueArn": "arn:aws:batch:us-east-1:123456789012:job-queue/newsops-dev",
    "IndexFunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:newsops-dev-index",
    "VerifyFunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:newsops-dev-verify",
    "CleanupFunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:newsops-dev-cleanup",
    "AlertsTopicArn": "arn:aws:sns:us-east-1:123456789012:newsops-dev-alerts",
}

# Parameter defaults per variant of the stack template.
VARIANTS: dict[str, dict[str, str]] = {
    "default": {},
    "all-features": {
        "CreateSearchDomain": "true",
        "EnableModelCache": "true",
        "AlertEmail": "alerts@example.com",
        "ComputeType": "EC2",
        "ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/newsops-dev-batch@sha256:" + "0" * 64,
    },
    "existing-search": {
        "SearchEndpoint": "https://search.example.com",
        "SearchDomainName": "news-search",
    },
}


class ToolMissing(RuntimeError):
    pass


def tool(name: str) -> str:
    path = TOOLS / name
    if not path.exists():
        raise ToolMissing(f"{path} is missing: run `make tools` (installs the pinned template "
                          f"checkers into .venv-tools/)")
    return str(path)


def variant(template: dict[str, Any], defaults: dict[str, str]) -> dict[str, Any]:
    out = copy.deepcopy(template)
    for key, value in defaults.items():
        out["Parameters"][key]["Default"] = value
    return out


def substituted_definitions(template: dict[str, Any],
                            values: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """Every state machine's Definition, by logical id, with its placeholders filled."""
    return {lid: substituted_definition(template, values, lid) for lid, r in template["Resources"].items()
            if r["Type"] == "AWS::StepFunctions::StateMachine"}


def substituted_definition(template: dict[str, Any], values: dict[str, str] | None = None,
                           logical_id: str | None = None) -> dict[str, Any]:
    """A state machine's Definition (the first one unless named) with its placeholders filled
    (as Step Functions will)."""
    machine = (template["Resources"][logical_id] if logical_id else next(
        r for r in template["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine"))
    text = json.dumps(machine["Properties"]["Definition"])
    values = values or REPRESENTATIVE_SUBSTITUTIONS
    missing = set(re.findall(r"\$\{([A-Za-z0-9_]+)\}", text)) - values.keys()
    if missing:
        raise KeyError(f"no representative value for placeholders {sorted(missing)}")
    return json.loads(re.sub(r"\$\{([A-Za-z0-9_]+)\}", lambda m: values[m.group(1)], text))


def _run(cmd: list[str], *, cwd: Path = REPO, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "BC_SKIP_MAPPING": "TRUE",
           "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false", "LOG_LEVEL": "WARNING"}
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


# cfn-lint's Lambda runtime end-of-life rules compare dates in its own data with today: their
# verdict on the same template changes with the calendar. `make check-templates` (and so the
# deploy path) runs them; the test gate leaves them out and checks instead that docs/deploy.md
# states those dates (tests/infra/test_template_checks.py).
DATED_CFN_LINT_RULES = ("W2531", "E2531", "E2533")


def lambda_runtime_lifecycle() -> dict[str, dict[str, str]]:
    """cfn-lint's Lambda runtime dates (deprecated, create-block, update-block), as pinned."""
    venv = TOOLS.parent
    found = sorted(venv.glob("lib/python*/site-packages/cfnlint/data/AdditionalSpecs/LmbdRuntimeLifecycle.json"))
    if not found:
        raise ToolMissing(f"cfn-lint's runtime lifecycle data is not under {venv}: run `make tools`")
    return json.loads(found[-1].read_text())


def cfn_lint(paths: list[Path], *, ignore: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """All cfn-lint matches (errors and warnings) over the templates, one process."""
    options = ["--ignore-checks", *ignore] if ignore else []
    proc = _run([tool("cfn-lint"), "--format", "json", *map(str, paths), *options])
    if proc.returncode not in (0, 2, 4, 6, 8, 10, 12, 14) or not proc.stdout.strip():
        if proc.returncode == 0:
            return []
        raise RuntimeError(f"cfn-lint failed to run (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout)


def checkov(files: list[Path], workflows: Path | None = WORKFLOWS) -> dict[str, Any]:
    """checkov over the templates (and the workflows): {"failed": [...], "skipped": [...], ...}."""
    cmd = [tool("checkov"), "--skip-download", "--output", "json", "--compact"]
    frameworks = ["cloudformation"]
    for f in files:
        cmd += ["--file", str(f)]
    if workflows is not None and workflows.is_dir():
        frameworks.append("github_actions")
        for f in sorted(workflows.glob("*.y*ml")):  # --file and --directory exclude each other
            cmd += ["--file", str(f)]
    cmd += ["--framework", *frameworks]
    proc = _run(cmd)
    try:
        doc = json.loads(proc.stdout)
    except ValueError:
        raise RuntimeError(f"checkov produced no JSON (exit {proc.returncode}):\n"
                           f"{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}") from None
    reports = doc if isinstance(doc, list) else [doc]
    out: dict[str, Any] = {"failed": [], "skipped": [], "passed": 0, "parsing_errors": [], "frameworks": []}
    for report in reports:
        if "results" not in report:  # an empty framework report ("passed": 0, ...)
            continue
        out["frameworks"].append(report.get("check_type"))
        results = report["results"]
        out["failed"] += results.get("failed_checks", [])
        out["skipped"] += results.get("skipped_checks", [])
        out["passed"] += len(results.get("passed_checks", []))
        out["parsing_errors"] += results.get("parsing_errors", [])
    return out


def statelint(definition: dict[str, Any], workdir: Path, name: str = "pipeline") -> list[str]:
    path = workdir / f"{name}.substituted.asl.json"
    path.write_text(json.dumps(definition, indent=2))
    exe = Path(sys.executable).parent / "statelint"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "statelint"]
    proc = _run([*cmd, str(path)])
    if proc.returncode != 0 or proc.stdout.strip():
        return [f"{name}: {line}" for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    return []


def workflow_schema(workflows: Path = WORKFLOWS) -> list[str]:
    files = sorted(workflows.glob("*.y*ml"))
    if not files:
        return [f"no workflow under {workflows}"]
    proc = _run([tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
                 "--disable-formats", "*", *map(str, files)])
    return [] if proc.returncode == 0 else [(proc.stdout + proc.stderr).strip()]


@dataclass
class Report:
    templates: dict[str, Path] = field(default_factory=dict)
    cfn_lint: list[dict[str, Any]] = field(default_factory=list)
    checkov: dict[str, Any] = field(default_factory=dict)
    statelint: list[str] = field(default_factory=list)
    workflows: list[str] = field(default_factory=list)

    @property
    def cfn_lint_errors(self) -> list[dict[str, Any]]:
        return [m for m in self.cfn_lint if m.get("Level") == "Error"]

    def ok(self) -> bool:
        return not (self.cfn_lint_errors or self.checkov.get("failed") or self.checkov.get("parsing_errors")
                    or self.statelint or self.workflows)


def write_variants(stack: dict[str, Any], outdir: Path = CHECKS_DIR) -> dict[str, Path]:
    outdir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, defaults in VARIANTS.items():
        path = outdir / f"newsops-{name}.json"
        path.write_text(json.dumps(variant(stack, defaults), indent=1))
        paths[f"stack:{name}"] = path
    return paths


def run_all(templates: dict[str, Path], stack: dict[str, Any], *, workdir: Path = CHECKS_DIR,
            dated_rules: bool = True) -> Report:
    """One cfn-lint and one checkov process over every template, statelint, workflow schema.

    ``dated_rules=False`` leaves out the cfn-lint rules whose verdict depends on today's date
    (:data:`DATED_CFN_LINT_RULES`): the same commit then gets the same verdict on any day."""
    workdir.mkdir(parents=True, exist_ok=True)
    report = Report(templates=templates)
    paths = list(templates.values())
    report.cfn_lint = cfn_lint(paths, ignore=() if dated_rules else DATED_CFN_LINT_RULES)
    report.checkov = checkov(paths)
    for lid, definition in substituted_definitions(stack).items():
        report.statelint += statelint(definition, workdir, lid)
    report.workflows = workflow_schema()
    return report


def format_report(report: Report) -> str:
    lines = []
    for m in report.cfn_lint:
        loc = m.get("Location", {})
        lines.append(f"cfn-lint {m.get('Level')} {m.get('Rule', {}).get('Id')} "
                     f"{m.get('Filename') or loc.get('Filename')}:{'/'.join(map(str, loc.get('Path') or []))}: {m.get('Message')}")
    for c in report.checkov.get("failed", []):
        lines.append(f"checkov FAILED {c['check_id']} {c.get('check_name')} "
                     f"{c.get('file_path')} {c.get('resource')}")
    for e in report.checkov.get("parsing_errors", []):
        lines.append(f"checkov could not parse {e}")
    lines += [f"statelint: {p}" for p in report.statelint]
    lines += [f"workflow schema: {p}" for p in report.workflows]
    skipped = sorted({(c["check_id"], c.get("resource", "")) for c in report.checkov.get("skipped", [])})
    lines.append(f"cfn-lint: {len(report.cfn_lint_errors)} errors, "
                 f"{len(report.cfn_lint) - len(report.cfn_lint_errors)} warnings/infos; "
                 f"checkov: {report.checkov.get('passed', 0)} passed, {len(report.checkov.get('failed', []))} "
                 f"failed, {len(skipped)} suppressed (see docs/deploy.md); "
                 f"statelint: {len(report.statelint)} problems; workflows: {len(report.workflows)} problems")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from scripts.deploy import build_template
    from scripts.deploy.layout import BUILT_BOOTSTRAP, BUILT_TEMPLATE

    p = argparse.ArgumentParser(description="cfn-lint, checkov, statelint and workflow checks")
    p.add_argument("--package", type=Path, action="append", default=[],
                   help="also check this packaged template (repeatable)")
    args = p.parse_args(argv)
    if shutil.which(tool("cfn-lint")) is None:
        raise ToolMissing("cfn-lint is not executable")
    build_template.main(["--out", str(BUILT_TEMPLATE), "--bootstrap-out", str(BUILT_BOOTSTRAP)])
    stack = json.loads(BUILT_TEMPLATE.read_text())
    templates = write_variants(stack)
    templates["bootstrap"] = BUILT_BOOTSTRAP
    for i, path in enumerate(args.package):
        templates[f"package:{i}"] = path
    report = run_all(templates, stack)
    print(format_report(report))
    return 0 if report.ok() else 1


if __name__ == "__main__":
    sys.exit(main())
