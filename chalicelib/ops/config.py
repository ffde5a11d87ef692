"""Settings of the verifier and the reaper (prefix ``NEWSOPS_``), read once from the environment."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class OpsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEWSOPS_", extra="ignore")

    # A problem still open after this long is alerted again; shorter would page every hour.
    alert_cooldown_s: int = Field(default=6 * 3600, ge=0)
    # A source with no new article for this long is stale (crawls run several times a day).
    freshness_window_s: int = Field(default=24 * 3600, ge=60)
    # Finished runs younger than this are re-checked by the scheduled verifier.
    verify_lookback_s: int = Field(default=7 * 86400, ge=0)
    verify_max_runs: int = Field(default=200, ge=1, le=5000)


@lru_cache(maxsize=1)
def get_ops_settings() -> OpsSettings:
    return OpsSettings()
