"""A local interpreter of the Amazon States Language (AWS Step Functions, JSONPath mode).

Runs a definition on one machine, dispatching Task resources to a caller-supplied
function, with AWS semantics for paths, Retry/Catch, Map, Parallel and errors.
"""

from .definition import load
from .errors import DefinitionError, StatesError, error_matches
from .history import HistoryEvent, states_entered
from .interpreter import ExecutionResult, Executor, TaskContext, TaskInvoker

__all__ = [
    "DefinitionError",
    "ExecutionResult",
    "Executor",
    "HistoryEvent",
    "StatesError",
    "TaskContext",
    "TaskInvoker",
    "error_matches",
    "load",
    "states_entered",
]
