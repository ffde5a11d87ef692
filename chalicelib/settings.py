"""Typed settings, read once from the environment (prefix ``NEWSOPS_``): one class, with a
section each for the verifier and reaper (``ops``) and the alert webhook (``webhook``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class OpsSettings(BaseSettings):
    """The verifier's and the reaper's settings."""

    model_config = SettingsConfigDict(env_prefix="NEWSOPS_", extra="ignore")

    # A problem still open after this long is alerted again; shorter would page every hour.
    alert_cooldown_s: int = Field(default=6 * 3600, ge=0)
    # A source with no new article for this long is stale (crawls run several times a day).
    freshness_window_s: int = Field(default=24 * 3600, ge=60)
    # Finished runs younger than this are re-checked by the scheduled verifier.
    verify_lookback_s: int = Field(default=7 * 86400, ge=0)
    verify_max_runs: int = Field(default=200, ge=1, le=5000)


class WebhookSettings(BaseSettings):
    """A Slack-compatible incoming webhook that gets every alert of the local backend. The URL
    is a secret (whoever holds it can post to the channel): never logged, never in an error."""

    model_config = SettingsConfigDict(env_prefix="NEWSOPS_", extra="ignore")

    webhook_url: SecretStr = SecretStr("")
    webhook_timeout_s: float = Field(default=5.0, gt=0)

    @property
    def configured(self) -> bool:
        return bool(self.webhook_url.get_secret_value())


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEWSOPS_", extra="ignore")

    backend: Literal["local", "aws"] = "local"
    home: Path = Path(".newsops")
    stage: str = "dev"

    # Names of cloud resources; the deployed stack provides them as environment variables.
    bucket: str = ""
    runs_table: str = ""
    state_table: str = ""
    alerts_topic_arn: str = ""
    state_machine_arn: str = ""
    # The train state machine (statemachine/train.asl.json): `newsops train --backend aws` starts it.
    train_state_machine_arn: str = ""
    job_queue: str = ""
    job_definition_prefix: str = "newsops"
    search_backend: Literal["local", "elasticsearch", "opensearch"] = "local"
    search_url: str = ""
    search_index: str = "news"

    tasks_file: Path | None = None
    sources_file: Path | None = None  # crawl sources; default chalicelib/config/sources.json
    prices_file: Path | None = None  # price table of run costs; default chalicelib/config/prices.json
    chunk_size: int = Field(default=500, ge=1)
    max_chunks: int = Field(default=10_000, ge=1, le=10_000)
    job_attempts: int = Field(default=3, ge=1, le=10)
    job_timeout_s: int = Field(default=3600, ge=1)
    run_timeout_s: int = Field(default=6 * 3600, ge=1)
    # One attempt of the train step (Batch's attemptDurationSeconds has a minimum of 60 s);
    # evaluate and register are bounded by chalicelib.training.STEP_TIMEOUT_S.
    train_timeout_s: int = Field(default=4 * 3600, ge=60, description="limit of one attempt of the train step")
    heartbeat_s: float = Field(default=10.0, gt=0, description="how often a local orchestrator "
                               "records that it is alive; after 3 missed beats its run is reported")
    # Longer than the ingest function's timeout (900 s): a claim this old that never started
    # its run belongs to an ingest that is surely dead, and the next ingest may take it over.
    ingest_lease_s: int = Field(default=960, ge=1, description="age after which a claimed, unstarted run is taken over")
    queue_wait_s: int = Field(default=3600, ge=0, description="allowance for jobs waiting RUNNABLE")
    # Batch jobs the compute environment runs at once (on the local backend: the workers). A
    # run's children beyond it wait in waves; the run's and the reaper's limits count them
    # (chalicelib/joblimits.py). The default MaxvCpus of 16 holds 2 to 4 one-GPU instances of
    # infra/newsops.yaml's types (4 or 8 vCPUs each): too low only makes those limits later.
    max_parallel_jobs: int = Field(default=2, ge=1, description="Batch jobs running at once (MaxvCpus / vCPUs per GPU instance)")
    # Chunks one invocation of the index step handles: its time stays far below Lambda's 15
    # minutes whatever the run's size (10,000 chunks -> 100 slices, 50,000 articles each at the default chunk size).
    index_slice_chunks: int = Field(default=100, ge=1, le=10_000, description="chunks per index invocation")
    workers: int = Field(default=0, ge=0, description="local compute processes; 0 = number of cores")
    retry_interval_scale: float = Field(default=1.0, ge=0)

    ops: OpsSettings = Field(default_factory=OpsSettings)
    webhook: WebhookSettings = Field(default_factory=WebhookSettings)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
