"""The JSON the status API answers, as pydantic models: the code builds them, openapi.json describes them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.cost import RunCost, TaskUsage

RUN_STATES = ("CLAIMED", "RUNNING", "SUCCEEDED", "FAILED")


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorResponse(_Out):
    Code: str = Field(description="BadRequestError, NotFoundError, ...")
    Message: str


class Health(_Out):
    status: Literal["ok", "error"]
    backend: str
    stage: str
    time: float
    checks: dict[str, str]


class RunSummary(_Out):
    run_id: str
    state: Literal["CLAIMED", "RUNNING", "SUCCEEDED", "FAILED"]
    verdict: str | None
    input_key: str
    created: float
    ended: float | None
    duration_s: float | None
    articles: dict[str, int]
    chunks: int | None
    tasks: list[str]
    attempt: int = Field(default=1, description="1, or the number of the retry attempt now current "
                                                "(newsops run --retry)")
    replay: dict[str, str] | None = Field(default=None, description="set for a replay run: task, "
                                                                     "model_version, source, archived")


class AttemptInfo(_Out):
    """One attempt of a run: the first is the run as ingest started it, each retry adds one."""

    attempt: int
    execution: str
    state: str
    verdict: str | None = None
    started: float | None = None
    ended: float | None = None
    execution_status: str | None = None
    error: str | None = None
    problems: list[str] = Field(default_factory=list)
    note: str | None = None
    rerun: dict[str, int] = Field(default_factory=dict, description="task -> chunks this attempt ran "
                                                                    "again (retries only)")


class RunsPage(_Out):
    runs: list[RunSummary]
    limit: int
    state: str | None
    next_before: float | None = Field(description="pass as ?before= for the next (older) page; "
                                                   "null on the last page")


class OpenFinding(_Out):
    id: str
    check: str
    severity: str
    subject: str
    reason: str
    run_id: str | None
    first_seen: float
    last_seen: float
    last_alerted: float | None
    alerts: int


class CrawlInfo(_Out):
    crawl_id: str
    started: float | None
    finished: float | None
    articles: int
    sources: int
    errors: int


class SourceInfo(_Out):
    source: str
    last_new: float | None
    age_s: float | None
    stale: bool


class VerifierInfo(_Out):
    verdict: str
    time: float
    runs_checked: int
    sources_checked: int
    open_findings: int
    alerts_sent: int
    notes: list[str]


class ReaperInfo(_Out):
    time: float
    active: int
    terminated: int
    runnable_too_long: int


class Status(_Out):
    time: float
    backend: str
    stage: str
    last_crawl: CrawlInfo | None
    sources: list[SourceInfo]
    runs: list[RunSummary]
    runs_by_state: dict[str, int] = Field(description="among the latest 200 runs")
    verifier: VerifierInfo | None
    reaper: ReaperInfo | None
    open_alerts: list[OpenFinding]


class ChunkState(_Out):
    index: int
    articles: int
    state: Literal["done", "missing", "stale"] = Field(
        description="stale: a result computed from another version of the chunk")
    records: int | None
    quarantined: int | None
    seconds: float | None
    model_version: str | None
    attempts: int | None = Field(description="attempts of this chunk's job child, when the "
                                             "compute backend reports them")


class JobInfo(_Out):
    job_id: str
    name: str
    status: str
    reason: str
    array_size: int
    children: dict[str, int]
    attempts: int | None
    created: float | None
    started: float | None
    stopped: float | None


class TaskState(_Out):
    model_version: str
    chunks_total: int
    chunks_done: int
    records: int
    quarantined: int
    seconds: float
    jobs: list[JobInfo]
    chunks: list[ChunkState]
    usage: TaskUsage | None = Field(default=None, description="the task's job attempts, CPU and GPU "
                                                              "seconds and their estimated cost, from "
                                                              "the run report")


class ExecutionInfo(_Out):
    status: str
    started: float | None
    stopped: float | None
    error: str | None
    states_entered: list[str] | None


class ReportInfo(_Out):
    verdict: str
    problems: list[str]
    indexed: int
    index_failed: int
    finished: str


class RunDetail(_Out):
    run: RunSummary
    chunk_offset: int
    chunk_limit: int
    chunks_total: int
    tasks: dict[str, TaskState]
    timings: dict[str, float]
    execution: ExecutionInfo | None
    report: ReportInfo | None
    lineage: dict[str, Any] = Field(description="input (uri, etag, version), code version, image, "
                                                "model versions")
    findings: list[OpenFinding]
    attempts: list[AttemptInfo] = Field(default_factory=list, description="every attempt, oldest first")
    cost: RunCost | None = Field(default=None, description="estimated cost of the run (report)")
    cost_error: str | None = Field(default=None, description="why the report has no cost")


class DayCount(_Out):
    day: str
    count: int


class Series(_Out):
    name: str
    points: list[DayCount]


class RunPoint(_Out):
    run_id: str
    created: float
    duration_s: float | None
    state: str
    verdict: str | None
    articles: int
    attempts: int = 1
    cost: float | None = Field(default=None, description="estimated cost of the run, in currency")
    cost_per_1k_articles: float | None = None
    currency: str | None = None


class CompanyCount(_Out):
    name: str
    count: int


class DashboardData(_Out):
    time: float
    window_days: int
    window_end: str | None = Field(description="newest day with articles (YYYY-MM-DD)")
    days: list[str]
    documents: int
    by_source: list[Series]
    by_category: list[Series]
    runs: list[RunPoint]
    open_alerts: list[OpenFinding]
    top_companies: list[CompanyCount]
    week: list[str] = Field(description="first and last day of the 'this week' window")
    verifier: VerifierInfo | None


class FacetBucket(_Out):
    key: str
    count: int


class SearchHit(BaseModel):
    """An indexed article without its body and vector, plus a snippet and the score."""

    model_config = ConfigDict(extra="allow")

    id: str
    url: str | None = None
    title: str | None = None
    snippet: str | None = None
    score: float | None = None


class SearchResponse(_Out):
    total: int
    took_ms: float
    hits: list[SearchHit]
    facets: dict[str, list[FacetBucket]]
