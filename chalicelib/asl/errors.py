"""Error types of the local ASL interpreter and the States.* error-name matching rules."""

from __future__ import annotations

from collections.abc import Iterable

ALL = "States.ALL"
BRANCH_FAILED = "States.BranchFailed"
DATA_LIMIT_EXCEEDED = "States.DataLimitExceeded"
HEARTBEAT_TIMEOUT = "States.HeartbeatTimeout"
INTRINSIC_FAILURE = "States.IntrinsicFailure"
NO_CHOICE_MATCHED = "States.NoChoiceMatched"
PARAMETER_PATH_FAILURE = "States.ParameterPathFailure"
PERMISSIONS = "States.Permissions"
RESULT_PATH_MATCH_FAILURE = "States.ResultPathMatchFailure"
RUNTIME = "States.Runtime"
TASK_FAILED = "States.TaskFailed"
TIMEOUT = "States.Timeout"

# AWS documents these as terminal: no Retrier or Catcher matches them, not even
# one that names them explicitly, so the execution always fails.
TERMINAL_ERRORS = frozenset({RUNTIME, DATA_LIMIT_EXCEEDED})

_TIMEOUTS = frozenset({TIMEOUT, HEARTBEAT_TIMEOUT})


class StatesError(Exception):
    """A named ASL error, as seen by Retry/Catch and reported by a failed execution.

    Task invokers raise it to fail a task with a specific error name (the
    equivalent of a Lambda function's error type); the interpreter raises it for
    the States.* errors of the language.
    """

    def __init__(self, error: str, cause: str = "") -> None:
        super().__init__(f"{error}: {cause}" if cause else error)
        self.error = error
        self.cause = cause

    def __reduce__(self) -> tuple[type[StatesError], tuple[str, str]]:
        # Keep the two fields when the error crosses a pickle boundary.
        return (type(self), (self.error, self.cause))


class DefinitionError(ValueError):
    """The state machine definition is invalid (AWS would refuse to create it)."""


def error_matches(error_equals: Iterable[str], error: str) -> bool:
    """Whether a Retrier's or Catcher's ErrorEquals list matches ``error``."""
    if error in TERMINAL_ERRORS:
        return False
    names = frozenset(error_equals)
    if ALL in names or error in names:
        return True
    # AWS: States.TaskFailed is a wildcard for every error except timeouts.
    if TASK_FAILED in names and error not in _TIMEOUTS:
        return True
    # AWS: States.Timeout also covers a missed heartbeat.
    return TIMEOUT in names and error == HEARTBEAT_TIMEOUT
