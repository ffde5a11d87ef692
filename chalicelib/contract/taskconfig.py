"""The one place ML tasks are declared: adding a task needs no change to the state machine."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from chalicelib.contract.schema import TaskConfig

DEFAULT_TASKS_FILE = Path(__file__).resolve().parents[1] / "config" / "tasks.json"


class TaskConfigError(ValueError):
    pass


def load_tasks(path: Path | None = None) -> TaskConfig:
    path = Path(path or DEFAULT_TASKS_FILE)
    try:
        return TaskConfig.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        raise TaskConfigError(f"task config not found: {path}") from None
    except ValidationError as exc:
        raise TaskConfigError(f"invalid task config {path}:\n{exc}") from None
