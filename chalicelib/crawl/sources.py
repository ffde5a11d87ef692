"""The source config (``chalicelib/config/sources.json``): what to crawl and how politely.

Validated with pydantic because it is a boundary: people edit this file by hand.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

DEFAULT_SOURCES_FILE = Path(__file__).resolve().parents[1] / "config" / "sources.json"

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class CrawlOptions(BaseModel):
    """Politeness and safety limits shared by every source."""

    model_config = ConfigDict(extra="forbid")

    # The product token (before "/") is what robots.txt rules name; put your contact URL here.
    user_agent: str = "newsops-crawler/0.1 (+https://newsops.invalid/crawler; business-news research)"
    connect_timeout_s: float = Field(default=5.0, gt=0)
    read_timeout_s: float = Field(default=10.0, gt=0)
    # A server that drips one byte per second never trips the read timeout; this one ends it.
    request_timeout_s: float = Field(default=30.0, gt=0)
    max_body_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    max_redirects: int = Field(default=5, ge=0, le=20)
    per_host_concurrency: int = Field(default=2, ge=1, le=2)
    min_delay_s: float = Field(default=0.0, ge=0, description="between requests to one host")
    max_crawl_delay_s: float = Field(
        default=10.0, ge=0, description="robots.txt Crawl-delay above this skips the host's pages"
    )
    concurrency: int = Field(default=32, ge=1, le=512, description="requests in flight overall")
    near_duplicate_bits: int = Field(default=3, ge=0, le=16, description="SimHash Hamming distance")
    near_duplicate_days: int = Field(default=7, ge=0, le=60)
    seen_days: int = Field(default=90, ge=1, le=3650)
    max_pending: int = Field(default=2000, ge=0, description="carried-over articles kept per source")
    max_attempts: int = Field(default=3, ge=1, le=10, description="tries of a transient failure")
    budget_reserve_s: float = Field(
        default=20.0, ge=0, description="kept back from the budget to write the batch and state"
    )


class SourceSpec(BaseModel):
    """One feed or sitemap and the rules for the articles it lists."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=80, pattern=r"^\w[\w .-]*$")
    url: str
    kind: Literal["feed", "sitemap"] = "feed"
    language: str | None = Field(default=None, description="hint when a page does not say")
    max_articles: int = Field(default=50, ge=0, le=10_000, description="article fetches per run")
    hosts: list[str] = Field(
        default_factory=list,
        description="hosts articles may live on ('*.example.com' allowed); default: the feed's host",
    )
    allow_networks: list[IPNetwork] = Field(
        default_factory=list,
        description="private/loopback networks this source may reach (cloud metadata never)",
    )
    enabled: bool = True

    @field_validator("url")
    @classmethod
    def _http(cls, v: str) -> str:
        parts = urlsplit(v)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("url must be an absolute http(s) URL")
        return v

    @field_validator("allow_networks", mode="before")
    @classmethod
    def _networks(cls, v: object) -> object:
        if isinstance(v, list):
            return [ipaddress.ip_network(x, strict=False) if isinstance(x, str) else x for x in v]
        return v

    @model_validator(mode="after")
    def _default_hosts(self) -> SourceSpec:
        if not self.hosts:
            self.hosts = [urlsplit(self.url).hostname or ""]
        self.hosts = [h.lower() for h in self.hosts]
        return self

    def host_allowed(self, host: str) -> bool:
        host = host.lower()
        for pattern in self.hosts:
            if pattern.startswith("*."):
                if host == pattern[2:] or host.endswith(pattern[1:]):
                    return True
            elif host == pattern:
                return True
        return False


class SourcesConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    comment: str | None = Field(default=None, alias="_comment")
    options: CrawlOptions = Field(default_factory=CrawlOptions)
    sources: list[SourceSpec] = Field(default_factory=list)
    # Like curl --resolve: fixed addresses for names no DNS knows (the bundled demo site).
    # They are vetted like any DNS answer, so they still need an allow_networks entry.
    static_hosts: dict[str, list[str]] = Field(default_factory=dict)

    @field_validator("static_hosts")
    @classmethod
    def _addresses(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        for addrs in v.values():
            for a in addrs:
                ipaddress.ip_address(a)
        return {k.lower(): addrs for k, addrs in v.items()}

    @model_validator(mode="after")
    def _unique(self) -> SourcesConfig:
        names = [s.name for s in self.sources]
        if len(names) != len(set(names)):
            raise ValueError(f"source names must be unique: {names}")
        return self

    def enabled(self) -> list[SourceSpec]:
        return [s for s in self.sources if s.enabled]


def load_sources(path: Path | str | None = None) -> SourcesConfig:
    """Read and validate a sources file (default: the bundled ``config/sources.json``)."""
    p = Path(path) if path else DEFAULT_SOURCES_FILE
    return SourcesConfig.model_validate_json(p.read_text(encoding="utf-8"))
