"""Query and path parameters of the status API, validated: a bad one is a 400 that says which and why."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

from chalicelib.api.models import RUN_STATES

# keys.run_id: Step Functions execution names, 80 of [A-Za-z0-9_-].
RUN_ID = re.compile(r"^[A-Za-z0-9_-]{1,80}$")


class ParamError(ValueError):
    """A parameter the API rejects; the message names it."""


class NotFound(LookupError):
    pass


def check_params(params: Mapping[str, str] | None, allowed: set[str]) -> dict[str, str]:
    params = dict(params or {})
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ParamError(f"unknown query parameter(s) {', '.join(unknown)}; "
                         f"allowed: {', '.join(sorted(allowed)) or 'none'}")
    return params


def int_param(params: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    if not re.fullmatch(r"[0-9]{1,9}", raw.strip()):
        raise ParamError(f"{name} must be an integer from {lo} to {hi}, got {raw!r}")
    value = int(raw)
    if not lo <= value <= hi:
        raise ParamError(f"{name} must be from {lo} to {hi}, got {value}")
    return value


def float_param(params: Mapping[str, str], name: str) -> float | None:
    raw = params.get(name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ParamError(f"{name} must be a number (a run's created time), got {raw!r}") from None
    if not math.isfinite(value) or value < 0:
        raise ParamError(f"{name} must be a finite, non-negative number, got {raw!r}")
    return value


def state_param(params: Mapping[str, str]) -> str | None:
    raw = params.get("state")
    if raw is None:
        return None
    state = raw.strip().upper()
    if state not in RUN_STATES:
        raise ParamError(f"state must be one of {', '.join(RUN_STATES)}, got {raw!r}")
    return state


def run_id_param(raw: str) -> str:
    if not RUN_ID.fullmatch(raw or ""):
        raise ParamError(f"run_id must be 1 to 80 of A-Z a-z 0-9 _ -, got {raw[:100]!r}")
    return raw
