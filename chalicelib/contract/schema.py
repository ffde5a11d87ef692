"""The models both sides share: an input article, the task config, the run manifest, a task's
result and quarantine records, a training request. The Lambdas' own models (the run report,
the execution input) live in chalicelib/schema.py."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from chalicelib.contract import keys
from chalicelib.contract.taskkinds import TASK_KINDS

# The kinds of chalicelib/contract/taskkinds.py, as the type the task config validates against.
TaskKind = Literal[tuple(TASK_KINDS)]  # type: ignore[valid-type]


def _limit(name: str, default: int) -> int:
    """A field limit from the environment (read once, at import: the constraints are compiled
    into the model's validator, which is what keeps ingest fast)."""
    raw = os.environ.get(name, "")
    try:
        value = int(raw) if raw else default
    except ValueError:
        raise ValueError(f"{name} must be a whole number of characters, got {raw!r}") from None
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}")
    return value


# Documented defaults (README, "Configuration"): a news title is a line, an article a few
# thousand characters. Past these a record is not an article (a whole feed, a blob) and would
# become a 100k-character "company" or one task's problem per task; ingest quarantines it once.
MAX_TITLE_CHARS = _limit("NEWSOPS_MAX_TITLE_CHARS", 1_000)
MAX_BODY_CHARS = _limit("NEWSOPS_MAX_BODY_CHARS", 200_000)
MAX_FIELD_CHARS = _limit("NEWSOPS_MAX_FIELD_CHARS", 1_000)  # source, language, id
# No NUL in any text field (a JSON-escaped \u0000 decodes to one): it breaks C-string
# consumers downstream (the search engines, tokenisers, terminals). Checked with `in` (memchr)
# in _derive: a regex over every body halves ingest's speed.
_NUL_CHECKED = ("url", "title", "body", "source", "language", "id")


class Article(BaseModel):
    """One input line under ``incoming/``. Unknown fields are kept (``extra="allow"``).

    Field checks are declared as constraints rather than Python validators: they run in
    pydantic-core, which keeps ingest above 20k articles/s on one core.
    """

    model_config = ConfigDict(extra="allow")

    url: str = Field(min_length=8, max_length=8192, pattern=r"^[Hh][Tt][Tt][Pp][Ss]?://\S")
    title: str = Field(min_length=1, max_length=MAX_TITLE_CHARS, pattern=r"\S")
    body: str = Field(min_length=1, max_length=MAX_BODY_CHARS, pattern=r"\S")
    published: datetime | None = None
    source: str | None = Field(default=None, max_length=MAX_FIELD_CHARS)
    language: str | None = Field(default=None, max_length=MAX_FIELD_CHARS)
    id: str | None = Field(default=None, max_length=MAX_FIELD_CHARS)

    # Which of id/language the input line did not carry at all: ingest prepends those to the
    # line instead of re-serialising the whole article.
    _absent: frozenset[str] = PrivateAttr(default=frozenset())
    _given_empty: bool = PrivateAttr(default=False)

    @model_validator(mode="after")
    def _derive(self) -> Article:
        for name in _NUL_CHECKED:
            value = getattr(self, name)
            if value is not None and "\x00" in value:
                raise ValueError(f"{name} contains a NUL character (\\u0000)")
        self._absent = frozenset({"id", "language"} - self.model_fields_set)
        self._given_empty = ("id" in self.model_fields_set and not self.id) or (
            "language" in self.model_fields_set and not self.language)
        if not self.id:
            self.id = keys.article_id(self.url)
        if not self.language:
            from chalicelib.language import detect_language

            self.language = detect_language(f"{self.title}\n{self.body[:2000]}")
        return self


class TaskSpec(BaseModel):
    """One ML task of the task config (chalicelib/config/tasks.json or NEWSOPS_TASKS_FILE)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,39}$")
    kind: TaskKind
    model: str = Field(description="model uri: 'package:<python package>', a path, or 'registry:<task>'")
    model_version: str = "builtin"
    languages: list[str] | None = Field(default=None, description="languages this task handles; None = all")
    options: dict[str, Any] = Field(default_factory=dict)
    batch_tokens: int = Field(default=16_384, ge=128)
    max_length: int = Field(default=256, ge=8, le=8192)
    gpu: int = Field(default=1, ge=0)
    vcpus: int = Field(default=4, ge=1)
    memory_mib: int = Field(default=16_384, ge=512)
    attempts: int = Field(default=3, ge=1, le=10)
    timeout_s: int = Field(default=3600, ge=1, description="per job attempt (attemptDurationSeconds)")
    command: list[str] | None = Field(default=None, description="override of the container command")


    @model_validator(mode="after")
    def _other_languages(self) -> TaskSpec:
        # Checked when the config is read, not when a job first meets an unsupported language.
        other = self.options.get("other_languages", "skip")
        if other != "skip" and (self.languages is None or other not in self.languages):
            raise ValueError(f"task {self.name}: options.other_languages must be \"skip\" or one of "
                             f"its languages {self.languages}, not {other!r}")
        return self


class TaskConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tasks: list[TaskSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> TaskConfig:
        names = [t.name for t in self.tasks]
        if len(names) != len(set(names)):
            raise ValueError(f"task names must be unique: {names}")
        return self

    def get(self, name: str) -> TaskSpec:
        for t in self.tasks:
            if t.name == name:
                return t
        raise KeyError(f"unknown task {name!r}; configured: {[t.name for t in self.tasks]}")


class ChunkInfo(BaseModel):
    index: int
    key: str
    records: int
    sha256: str


class InputRef(BaseModel):
    uri: str
    key: str
    etag: str
    version: str | None = None
    size: int


class ReplayRef(BaseModel):
    """What a replay run reprocesses: one task of an archived input, with one model version."""

    task: str
    model_version: str
    source: Literal["incoming", "raw"] = "incoming"
    archived: str  # the archived object it read: incoming/... or raw/YYYY/MM/DD/ (re-extracted)


class RunManifest(BaseModel):
    run_id: str
    created: datetime
    input: InputRef
    chunk_size: int
    chunks: list[ChunkInfo]
    articles: dict[str, int]  # input, valid, quarantined
    tasks: list[TaskSpec]
    code_version: str
    image: str | None = None
    models: dict[str, dict[str, str]] = Field(default_factory=dict)  # task -> {version, sha256}
    replay: ReplayRef | None = None  # set on replay runs only (chalicelib/replay.py)


class QuarantineRecord(BaseModel):
    stage: str  # "ingest" or a task name
    reason: str
    line: int | None = None
    chunk: int | None = None
    id: str | None = None
    record: Any = None


class ResultRecord(BaseModel):
    """One line of ``results/<task>/<n>.jsonl.gz``: the task's output for one article."""

    model_config = ConfigDict(extra="forbid")

    id: str
    task: str
    language: str | None = None
    output: dict[str, Any]


class TrainRequest(BaseModel):
    """What one training execution trains: written by ``newsops train`` under
    ``training/<train_id>/request.json`` before the train state machine starts, read by each of
    its jobs (train, evaluate, register)."""

    train_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    task: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,39}$")
    data_key: str
    dev_key: str | None = None
    dev_fraction: float | None = Field(default=None, gt=0.0, lt=1.0)
    schedule: Literal["short", "full"] = "full"
    epochs: int | None = Field(default=None, ge=1, le=200)  # overrides the schedule's (tests)
    seed: int = 0
    base_model: str = "ja_ginza"
    data_meta: dict[str, Any] = Field(default_factory=dict)
    promote: bool = False
    created: datetime

    @model_validator(mode="after")
    def _one_dev(self) -> TrainRequest:
        if self.dev_key is not None and self.dev_fraction is not None:
            raise ValueError("give a dev file or a dev fraction, not both")
        return self


def describe_errors(exc: ValidationError) -> str:
    """One line naming each bad field: what a quarantine reason tells a person."""
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'record'}: {e['msg']}" for e in exc.errors())
