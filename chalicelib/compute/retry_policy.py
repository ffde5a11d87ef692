"""The one retry policy of the batch jobs: which failed attempts Batch runs again.

The job definitions own it (scripts/deploy/build_template.py renders ``EXIT_RULES`` and each
task's ``attempts`` into every ``AWS::Batch::JobDefinition``); the state machine's SubmitJob
passes no ``RetryStrategy``, because one passed at submission replaces the definition's
whole strategy. The local compute applies the same rules to the same definitions
(``job_definitions``), so a rule that holds locally holds on Batch.

Batch evaluates ``evaluateOnExit`` in order, the first match decides, and a failure that no
rule matches is retried (within ``attempts``). A timed-out attempt is not retried at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from chalicelib.compute.base import ExitRule
from chalicelib.contract.exitcodes import PERMANENT_EXIT, RETRYABLE_EXIT
from chalicelib.contract.schema import TaskSpec

# How Docker, and so Batch, reports a container killed by SIGKILL: 128 + 9. The kernel's OOM
# killer is what sends it to a job over its memory (Batch may also say OutOfMemoryError).
KILLED_EXIT = 137
SIGNAL_EXIT_BASE = 128

EXIT_RULES: tuple[ExitRule, ...] = (
    # the entrypoint: throttling, network, a registry not yet consistent: try again
    ExitRule("RETRY", on_exit_code=str(RETRYABLE_EXIT)),
    # the entrypoint: bad data, a corrupt model, misconfiguration: the same on any host
    ExitRule("EXIT", on_exit_code=str(PERMANENT_EXIT)),
    # a reclaimed Spot instance or a lost host: another host will do (before the 137 rule:
    # the host's containers are killed too)
    ExitRule("RETRY", on_status_reason="Host EC2*"),
    # out of memory: the next attempt gets the same memory and fails the same way, after
    # another timeout's worth of GPU time
    ExitRule("EXIT", on_reason="OutOfMemoryError*"),
    ExitRule("EXIT", on_exit_code=str(KILLED_EXIT)),
)
MAX_RULES = 5  # Batch takes at most 5 evaluateOnExit conditions
assert len(EXIT_RULES) <= MAX_RULES

# Property names: CloudFormation's (and Step Functions' SubmitJob parameters) and the
# Batch API's (boto3 submit_job), for the same three conditions.
_CFN_NAMES = {"on_exit_code": "OnExitCode", "on_status_reason": "OnStatusReason", "on_reason": "OnReason"}
_API_NAMES = {"on_exit_code": "onExitCode", "on_status_reason": "onStatusReason", "on_reason": "onReason"}


@dataclass(frozen=True)
class RetryStrategy:
    """A job definition's ``retryStrategy``: attempts and the rules that end them early."""

    attempts: int
    rules: tuple[ExitRule, ...] = EXIT_RULES

    def __post_init__(self) -> None:
        if not 1 <= self.attempts <= 10:
            raise ValueError(f"attempts must be 1..10, got {self.attempts}")

    def action(self, exit_code: int | None, reason: str = "", status_reason: str = "") -> Literal["RETRY", "EXIT"]:
        """What Batch does after a failed attempt (whether attempts are left aside)."""
        return decide(self.rules, exit_code, reason, status_reason)


def decide(rules: Iterable[ExitRule], exit_code: int | None, reason: str = "",
           status_reason: str = "") -> Literal["RETRY", "EXIT"]:
    return next((r.action for r in rules if r.matches(exit_code, reason, status_reason)), "RETRY")


def _render(rule: ExitRule, names: dict[str, str], action: str) -> dict[str, str]:
    out = {names[f]: getattr(rule, f) for f in names if getattr(rule, f) is not None}
    out[action] = rule.action
    return out


def cloudformation_rules(rules: Iterable[ExitRule] = EXIT_RULES) -> list[dict[str, str]]:
    """``EvaluateOnExit`` of an ``AWS::Batch::JobDefinition``."""
    return [_render(r, _CFN_NAMES, "Action") for r in rules]


def api_rules(rules: Iterable[ExitRule] = EXIT_RULES) -> list[dict[str, str]]:
    """``evaluateOnExit`` of the Batch API (boto3 ``submit_job``)."""
    return [_render(r, _API_NAMES, "action") for r in rules]


def from_cloudformation(rules: Iterable[dict[str, str]]) -> tuple[ExitRule, ...]:
    """The rules of a rendered job definition (or of a SubmitJob's ``RetryStrategy``)."""
    out = []
    for r in rules:
        action = str(r["Action"]).upper()
        if action not in ("RETRY", "EXIT"):
            raise ValueError(f"evaluateOnExit action must be RETRY or EXIT, got {r['Action']!r}")
        out.append(ExitRule(action, on_exit_code=r.get("OnExitCode"),  # type: ignore[arg-type]
                            on_reason=r.get("OnReason"), on_status_reason=r.get("OnStatusReason")))
    return tuple(out)


def task_strategy(task: TaskSpec) -> RetryStrategy:
    return RetryStrategy(task.attempts)


def job_definitions(prefix: str, tasks: Iterable[TaskSpec]) -> dict[str, RetryStrategy]:
    """Each task's job definition name (``<prefix>-<task>``, what ingest submits) and its
    retry strategy: the local stand-in for the rendered job definitions."""
    return {f"{prefix}-{t.name}": task_strategy(t) for t in tasks}


def exit_code_as_batch_reports(returncode: int | None) -> int | None:
    """A process's return code as the container's exit code: a signal N is 128 + N."""
    if returncode is None:
        return None
    return SIGNAL_EXIT_BASE - returncode if returncode < 0 else returncode
