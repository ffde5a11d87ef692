"""What a run cost: its jobs' measured attempts priced with an editable, dated price table.

The price table is ``chalicelib/config/prices.json`` (``NEWSOPS_PRICES_FILE`` points to
another). Batch jobs are priced per attempt, failed ones too: the attempt's wall seconds times
the share of its instance that the task's job definition takes (its vCPUs or its GPUs,
whichever is the larger fraction) times the instance's hourly price, on-demand or Spot as the
table says. Lambda, Step Functions and S3 are estimated from the run's shape (stage seconds,
chunks, tasks, attempts): cents per million articles beside the GPU, but they are shown.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from chalicelib.compute.base import AttemptUsage

DEFAULT_PRICES_FILE = Path(__file__).resolve().parent / "config" / "prices.json"
LAMBDA_STAGES = ("ingest", "index", "verify")  # the run's functions whose seconds the report times
MONEY_DIGITS = 8  # a small run costs fractions of a cent; rounding to cents would show 0


class PriceTableError(ValueError):
    """A price table that cannot be used; the message names the file and what is wrong."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class InstancePrice(_Strict):
    vcpus: int = Field(ge=1)
    gpus: int = Field(ge=0)
    memory_gib: float = Field(gt=0)
    on_demand_per_hour: float = Field(gt=0)
    spot_per_hour: float | None = Field(default=None, gt=0)


class LambdaPrices(_Strict):
    per_gb_second: float = Field(ge=0)
    per_million_requests: float = Field(ge=0)
    memory_mb: dict[str, int] = Field(description="memory of each function (.chalice/config.json)")


class StepFunctionsPrices(_Strict):
    per_thousand_transitions: float = Field(ge=0)


class S3Prices(_Strict):
    per_thousand_put: float = Field(ge=0)
    per_thousand_get: float = Field(ge=0)


class PriceTable(_Strict):
    as_of: date = Field(description="the day the prices were taken")
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    region: str
    source: str = ""
    capacity: Literal["on_demand", "spot"] = Field(description="which instance price the run is charged")
    gpu_instance: str = Field(description="instance of a task that asks for a GPU")
    cpu_instance: str = Field(description="instance of a task that asks for none")
    task_instances: dict[str, str] = Field(default_factory=dict, description="per task name, overrides")
    instances: dict[str, InstancePrice] = Field(min_length=1)
    lambda_: LambdaPrices = Field(alias="lambda")
    step_functions: StepFunctionsPrices
    s3: S3Prices

    @model_validator(mode="after")
    def _consistent(self) -> PriceTable:
        named = {"gpu_instance": self.gpu_instance, "cpu_instance": self.cpu_instance,
                 **{f"task_instances.{k}": v for k, v in self.task_instances.items()}}
        for where, name in named.items():
            if name not in self.instances:
                raise ValueError(f"{where} is {name!r}, which is not under instances "
                                 f"({', '.join(sorted(self.instances))})")
            if self.capacity == "spot" and self.instances[name].spot_per_hour is None:
                raise ValueError(f"capacity is spot but instances.{name} has no spot_per_hour")
        if self.instances[self.gpu_instance].gpus < 1:
            raise ValueError(f"gpu_instance {self.gpu_instance!r} has no GPU")
        missing = [s for s in LAMBDA_STAGES if s not in self.lambda_.memory_mb]
        if missing:
            raise ValueError(f"lambda.memory_mb lacks {', '.join(missing)}")
        return self

    def instance_for(self, task: str, gpus: int) -> str:
        return self.task_instances.get(task) or (self.gpu_instance if gpus > 0 else self.cpu_instance)

    def hourly(self, instance: str) -> float:
        price = self.instances[instance]
        value = price.spot_per_hour if self.capacity == "spot" else price.on_demand_per_hour
        assert value is not None  # the validator checked every instance the table names
        return value

    def share(self, task: str, instance: str, *, vcpus: int, gpus: int) -> float:
        """The fraction of ``instance`` one job of the task occupies."""
        inst = self.instances[instance]
        if gpus > inst.gpus:
            raise PriceTableError(f"task {task} asks for {gpus} GPU(s) but its instance {instance} has "
                                  f"{inst.gpus}: set task_instances.{task} in the price table")
        return max(vcpus / inst.vcpus, gpus / inst.gpus if inst.gpus else 0.0)


def load_prices(path: Path | None = None) -> PriceTable:
    """The price table at ``path`` (default: the shipped one); PriceTableError says what is wrong."""
    path = Path(path) if path is not None else DEFAULT_PRICES_FILE
    return _load(str(path.resolve()), _mtime(path))


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return -1.0


@lru_cache(maxsize=8)
def _load(path: str, _mtime: float) -> PriceTable:
    # Keyed by modification time: an edited table is read again, an unchanged one is not.
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise PriceTableError(f"price table {path}: cannot read it ({exc.strerror or exc})") from None
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise PriceTableError(f"price table {path}: not JSON ({exc})") from None
    try:
        return PriceTable.model_validate(doc)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}"
                             for e in exc.errors())
        raise PriceTableError(f"price table {path}: {problems}") from None


# -- what the report records ----------------------------------------------------------------
class TaskUsage(BaseModel):
    """One task's job attempts (every attempt of every execution of the run) and their price."""

    job_attempts: int
    failed_attempts: int
    wall_s: float
    cpu_s: float = Field(description="measured CPU seconds (rusage) where cpu_measured, else the "
                                     "vCPUs the job was given x its wall seconds (Batch)")
    cpu_measured: bool
    gpu_s: float = Field(description="wall seconds x GPUs the job was given; 0 off a GPU")
    instance: str
    instance_share: float = Field(description="fraction of the instance one job takes")
    cost: float
    per_1k_articles: float | None


class RunCost(BaseModel):
    currency: str
    prices_as_of: date
    region: str
    capacity: Literal["on_demand", "spot"]
    articles: int = Field(description="valid articles of the run: the per-1,000 denominator")
    compute: float = Field(description="Batch job attempts, all tasks")
    lambda_functions: float
    step_functions: float
    s3: float
    total: float
    per_1k_articles: float | None
    lambda_gb_s: float
    lambda_requests: int
    state_transitions: int
    s3_put: int
    s3_get: int
    notes: list[str] = Field(default_factory=list)


def _money(x: float) -> float:
    return round(x, MONEY_DIGITS)


def _per_1k(cost: float, articles: int) -> float | None:
    return _money(cost / articles * 1000) if articles > 0 else None


def task_usage(task: str, attempts: Iterable[AttemptUsage], *, vcpus: int, gpus: int,
               prices: PriceTable, articles: int) -> TaskUsage:
    """``vcpus``/``gpus``: the task's job definition (tasks.json), for what an attempt's record
    leaves out and for the instance share it is priced at."""
    runs = list(attempts)
    instance = prices.instance_for(task, gpus)
    share = prices.share(task, instance, vcpus=vcpus, gpus=gpus)
    wall = sum(a.wall_s for a in runs)
    cpu = sum(a.cpu_s if a.cpu_s is not None else a.wall_s * (a.vcpus or vcpus) for a in runs)
    gpu = sum(a.wall_s * (a.gpus if a.gpus is not None else gpus) for a in runs)
    cost = wall / 3600.0 * share * prices.hourly(instance)
    return TaskUsage(job_attempts=len(runs), failed_attempts=sum(a.exit_code != 0 for a in runs),
                     wall_s=round(wall, 3), cpu_s=round(cpu, 3),
                     cpu_measured=bool(runs) and all(a.cpu_s is not None for a in runs),
                     gpu_s=round(gpu, 3), instance=instance, instance_share=round(share, 6),
                     cost=_money(cost), per_1k_articles=_per_1k(cost, articles))


def run_cost(tasks: dict[str, TaskUsage], *, prices: PriceTable, articles: int, chunks: int,
             timings: dict[str, float], failed: bool = False, index_slices: int = 1,
             index_seconds: float | None = None) -> RunCost:
    """``index_slices``/``index_seconds``: the index step ran as that many invocations, billed
    for their summed seconds (they overlap, so more than the step's wall time)."""
    compute = sum(t.cost for t in tasks.values())
    memory = prices.lambda_.memory_mb
    ran = [s for s in LAMBDA_STAGES if s in timings]
    billed = dict(timings)
    if index_seconds is not None and "index" in billed:
        billed["index"] = index_seconds
    gb_s = sum(max(0.0, billed[s]) * memory[s] / 1024.0 for s in ran)
    # One invocation per stage, one per index slice, and a failed run's cleanup.
    requests = len(ran) + (max(1, index_slices) - 1 if "index" in ran else 0) + (1 if failed else 0)
    lam = gb_s * prices.lambda_.per_gb_second + requests * prices.lambda_.per_million_requests / 1e6
    transitions = state_transitions(len(tasks), index_slices=max(1, index_slices))
    sfn = transitions * prices.step_functions.per_thousand_transitions / 1000
    results = chunks * len(tasks)
    attempts = sum(t.job_attempts for t in tasks.values())
    # Writes: the chunks, the manifest, one result per chunk x task, the report. Reads: the
    # input, manifest + chunk per job attempt, manifest + every result to index, manifest +
    # a HEAD per result to verify (a HEAD is billed as a GET).
    puts = chunks + 1 + results + 1
    gets = 1 + 2 * attempts + (results + 1) + (results + 1)
    s3 = puts * prices.s3.per_thousand_put / 1000 + gets * prices.s3.per_thousand_get / 1000
    total = compute + lam + sfn + s3
    return RunCost(
        currency=prices.currency, prices_as_of=prices.as_of, region=prices.region,
        capacity=prices.capacity, articles=articles, compute=_money(compute), lambda_functions=_money(lam),
        step_functions=_money(sfn), s3=_money(s3), total=_money(total), per_1k_articles=_per_1k(total, articles),
        lambda_gb_s=round(gb_s, 3), lambda_requests=requests, state_transitions=transitions,
        s3_put=puts, s3_get=gets,
        notes=[f"jobs: wall seconds x instance share x {prices.capacity} price per hour",
               "Lambda, Step Functions, S3: estimated from the stage seconds and the run's chunks, "
               "tasks and attempts (a successful run's state transitions)"])


def state_transitions(tasks: int, definition: dict[str, Any] | None = None, *, index_slices: int = 1) -> int:
    """States a successful execution enters (what Standard workflows bill), from the ASL itself:
    the first branch of each Choice is its success branch, a Map enters its processor once per
    item of its ItemsPath (a task of the run, a slice of the index step)."""
    if definition is None:
        definition = _pipeline_definition()
    return _path(definition["States"], definition["StartAt"],
                 {"$.tasks": tasks, "$.index_slices": index_slices})


def _path(states: dict[str, Any], start: str, items: dict[str, int]) -> int:
    n, name, seen = 0, start, set()
    while name and name not in seen:
        seen.add(name)
        state = states[name]
        n += 1
        if state["Type"] == "Map":
            proc = state.get("ItemProcessor") or state.get("Iterator") or {}
            n += items.get(state.get("ItemsPath", "$"), 1) * _path(proc["States"], proc["StartAt"], items)
        if state.get("End") or state["Type"] in ("Succeed", "Fail"):
            break
        name = state.get("Next") or (state["Choices"][0]["Next"] if state["Type"] == "Choice" else "")
    return n


@lru_cache(maxsize=1)
def _pipeline_definition() -> dict[str, Any]:
    from chalicelib.workflow import definition

    return definition.load(definition.LOCAL_SUBSTITUTIONS)


def per_million_articles(texts_per_s: float, instance: InstancePrice, *, gpus: int = 1,
                         capacity: Literal["on_demand", "spot"] = "on_demand") -> float:
    """GPU cost of 1M articles at a measured throughput on ``gpus`` of ``instance``."""
    hourly = instance.spot_per_hour if capacity == "spot" else instance.on_demand_per_hour
    if hourly is None or texts_per_s <= 0 or not math.isfinite(texts_per_s):
        raise ValueError("need a positive throughput and a price for that capacity")
    return 1e6 / texts_per_s / 3600.0 * hourly * gpus / max(1, instance.gpus)
