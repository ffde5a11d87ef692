"""Stack outputs -> the Chalice stage config (.chalice/config.json, ``stages.<stage>``).

Writes, for the stage: every NEWSOPS_* variable the code reads (scripts/deploy/layout.py
ENV_FROM_OUTPUTS, from the stack outputs), the lineage variables (the batch image,
LINEAGE_ENV_FROM_OUTPUTS; the code version), and the IAM role of every
function (``manage_iam_role`` is false: the stack owns the least-privilege roles). Keys the
stage already has and this script does not manage are kept.

Usage: python -m scripts.deploy.stage_config --stage dev --outputs build/deploy/dev/outputs.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from scripts.deploy.layout import (
    CHALICE_CONFIG,
    ENV_FROM_OUTPUTS,
    FUNCTIONS,
    LINEAGE_ENV_FROM_OUTPUTS,
    STATIC_ENV,
)


class MissingOutputs(KeyError):
    pass


def stage_settings(outputs: dict[str, str], code_version: str | None = None) -> dict[str, Any]:
    # Lineage outputs are written when the stack has them (every stack built from this
    # commit's template does); without one, runs record their image as unrecorded.
    from_outputs = {**ENV_FROM_OUTPUTS, **{var: out for var, out in LINEAGE_ENV_FROM_OUTPUTS.items()
                                           if out in outputs}}
    needed = set(from_outputs.values()) | {f.role_output for f in FUNCTIONS.values()}
    missing = sorted(needed - outputs.keys())
    if missing:
        raise MissingOutputs(f"the stack has no outputs {missing}: is it deployed from this commit's "
                             "infra/newsops.yaml?")
    env = {**STATIC_ENV, **{var: str(outputs[out]) for var, out in from_outputs.items()}}
    if code_version:
        env["NEWSOPS_CODE_VERSION"] = code_version
    return {
        "environment_variables": env,
        "lambda_functions": {name: {"iam_role_arn": outputs[f.role_output]} for name, f in FUNCTIONS.items()},
    }


def write_stage_config(stage: str, outputs: dict[str, str], *, config_path: Path = CHALICE_CONFIG,
                       code_version: str | None = None) -> dict[str, Any]:
    config = json.loads(config_path.read_text())
    settings = stage_settings(outputs, code_version)
    stage_cfg = config.setdefault("stages", {}).setdefault(stage, {})
    stage_cfg.pop("iam_role_arn", None)
    stage_cfg.setdefault("environment_variables", {}).update(settings["environment_variables"])
    functions = stage_cfg.setdefault("lambda_functions", {})
    for name, values in settings["lambda_functions"].items():
        functions.setdefault(name, {}).update(values)
    config_path.write_text(json.dumps(config, indent=2) + "\n")
    return stage_cfg


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--stage", required=True)
    p.add_argument("--outputs", type=Path, required=True, help="JSON object of the stack outputs")
    p.add_argument("--config", type=Path, default=CHALICE_CONFIG)
    p.add_argument("--code-version", default=None)
    args = p.parse_args(argv)
    outputs = json.loads(args.outputs.read_text())
    write_stage_config(args.stage, outputs, config_path=args.config, code_version=args.code_version)
    print(f"{args.config}: stage {args.stage!r} now names the resources of stack outputs {args.outputs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
