"""The Lambdas' own models: the run report and the state machine's execution input. What the
batch job shares with them is in chalicelib/contract/schema.py."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from chalicelib.cost import RunCost, TaskUsage


class TaskCounts(BaseModel):
    chunks: int = 0
    chunks_done: int = 0
    records: int = 0
    quarantined: int = 0
    seconds: float | None = None
    usage: TaskUsage | None = None  # job attempts, CPU/GPU seconds and their price (chalicelib/cost.py)


class RunReport(BaseModel):
    run_id: str
    verdict: Literal["ok", "failed"]
    input: str
    articles: dict[str, int]
    tasks: dict[str, TaskCounts]
    indexed: int = 0
    index_failed: int = 0
    problems: list[str] = Field(default_factory=list)
    error: dict[str, str] | None = None
    timings: dict[str, float] = Field(default_factory=dict)
    lineage: dict[str, Any] = Field(default_factory=dict)
    finished: datetime
    cost: RunCost | None = None
    cost_error: str | None = None  # why there is no cost (a bad price table, an unreachable backend)


class ExecutionTask(BaseModel):
    """What the state machine's Map gets per task: names and numbers only, never article text."""

    name: str
    job_name: str
    job_definition: str
    array_size: int
    attempts: int
    timeout_s: int
    # Outer bound of the workflow Task over the whole job: the run's waves of children
    # (chalicelib/joblimits.py), not one child's attempts x timeout.
    sfn_timeout_s: int
    environment: list[dict[str, str]]


class IndexSlice(BaseModel):
    """One invocation of the index step: the run's chunks ``first`` .. ``last`` (inclusive)."""

    model_config = ConfigDict(extra="forbid")

    first: int = Field(ge=0)
    last: int = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> IndexSlice:
        if self.last < self.first:
            raise ValueError(f"an index slice ends before it starts: {self.first}..{self.last}")
        return self


class ExecutionInput(BaseModel):
    run_id: str
    manifest: str
    chunks: int
    tasks: list[ExecutionTask]
    # The index step's Map items: a few numbers each, so the input stays far below Step
    # Functions' 256 KiB for 10,000 chunks.
    index_slices: list[IndexSlice]
