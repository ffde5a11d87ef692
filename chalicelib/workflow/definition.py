"""Loading the ASL definition and filling its ``${Placeholders}`` (deploy and local alike)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

STATEMACHINES = Path(__file__).resolve().parents[2] / "statemachine"
DEFINITION_PATH = STATEMACHINES / "pipeline.asl.json"
# Train -> evaluate -> register (chalicelib/training.py starts it); its placeholders are a
# subset of the pipeline's, so both definitions are filled from the same values.
TRAIN_DEFINITION_PATH = STATEMACHINES / "train.asl.json"
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")

# What the local backend substitutes: names its task dispatcher understands.
LOCAL_SUBSTITUTIONS: dict[str, str] = {
    "JobQueueArn": "local-queue",
    "IndexFunctionArn": "local:function:index",
    "VerifyFunctionArn": "local:function:verify",
    "CleanupFunctionArn": "local:function:cleanup",
    "AlertsTopicArn": "local:topic:alerts",
}


def placeholders(text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(text))


def substitute(text: str, values: dict[str, str]) -> dict[str, Any]:
    """Replace every ``${Name}``; a missing value is an error, never a silent empty string."""
    missing = placeholders(text) - values.keys()
    if missing:
        raise KeyError(f"no value for placeholders: {sorted(missing)}")
    return json.loads(_PLACEHOLDER.sub(lambda m: values[m.group(1)], text))


def load(values: dict[str, str], path: Path = DEFINITION_PATH) -> dict[str, Any]:
    return substitute(path.read_text(encoding="utf-8"), values)
