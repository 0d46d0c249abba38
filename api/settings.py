"""Service configuration: the one place that reads the environment (prefix ``CREDITPOLICY_``)."""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DEFAULT_DATABASE_URL", "Settings", "get_settings"]

DEFAULT_DATABASE_URL = "sqlite:///var/creditpolicy.db"
_HOST_NAME = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*\Z")
_NUMERIC_LABEL = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)\Z")


class Settings(BaseSettings):
    """Everything the service and the CLI can be configured with, validated once at start."""

    model_config = SettingsConfigDict(env_prefix="CREDITPOLICY_", extra="ignore", frozen=True, populate_by_name=True)

    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL; SQLite file by default, e.g. postgresql+psycopg://user@host:5432/db",
    )
    database_echo: bool = Field(False, description="log every SQL statement (debugging only)")
    policy_file: Path = Field(Path("rules/standard.yaml"), description="policy published and activated on first start")
    webhook_retry_seconds: float = Field(
        15.0, ge=0, description="how often pending webhook deliveries are retried in the background (0: never)"
    )
    webhook_allowed_networks: str = Field(
        "",
        description="internal networks (CIDR) and host names webhooks may reach, comma-separated, "
        "e.g. 10.20.0.0/16,hooks.internal (default: public addresses only)",
    )
    ready_timeout_seconds: float = Field(
        1.5, gt=0, le=30, description="how long /readyz waits for the database's write lock before it answers 503"
    )
    metrics_access: Literal["key", "open"] = Field(
        "key",
        description="who may read /metrics: `key` (a role holding read_metrics: audit, admin) or `open` (anyone)",
    )
    metrics_multiprocess_dir: Path | None = Field(
        None,
        validation_alias=AliasChoices("PROMETHEUS_MULTIPROC_DIR"),
        description="prometheus_client's multiprocess directory; `creditpolicy serve --workers N` sets a fresh one",
    )
    max_live_versions: int = Field(
        4,
        ge=1,
        description=(
            "policy versions one worker holds on durable-rules, whose memory is never returned (up to ~40 MB "
            "each); past it, versions decide on their plain-Python twin, with the same answers"
        ),
    )
    job_workers: int = Field(
        1,
        ge=0,
        le=16,
        description="job worker threads per service process, each running one job at a time in a child process "
        "(0: this process runs no jobs; it still accepts and serves them)",
    )
    job_lease_seconds: float = Field(
        60.0,
        ge=1,
        le=3600,
        description="how long a job stays leased to its worker without a heartbeat (renewed about every second); "
        "a job whose worker died is claimed again once its lease has expired",
    )
    job_max_attempts: int = Field(
        3, ge=1, le=20, description="attempts at a job whose worker keeps dying before it fails as job_abandoned"
    )
    job_poll_seconds: float = Field(1.0, gt=0, le=60, description="how often an idle worker looks for a job")
    job_shutdown_grace_seconds: float = Field(
        10.0, ge=0, le=3600, description="how long a stopping service lets a running job finish before queuing it again"
    )
    job_nice: int = Field(
        10, ge=0, le=19, description="how much lower the CPU priority of a job's process is than the server's (nice)"
    )
    job_upload_max_bytes: int = Field(
        16 * 1024 * 1024,
        ge=1024,
        le=1024 * 1024 * 1024,
        description="the largest portfolio upload (all files together) POST /v1/simulations accepts",
    )
    host: str = Field("127.0.0.1", description="address `creditpolicy serve` listens on")
    port: int = Field(8000, ge=1, le=65535, description="port `creditpolicy serve` listens on")
    api_key: str | None = Field(
        None, repr=False, description="the API key the CLI's store-changing commands act as (`--key` overrides it)"
    )

    @field_validator("webhook_allowed_networks")
    @classmethod
    def _check_allowed_networks(cls, value: str) -> str:
        return ",".join(_allowlist_entry(entry) for entry in value.split(",") if entry.strip())

    @property
    def webhook_allowlist(self) -> tuple[str, ...]:
        """The entries of ``webhook_allowed_networks``: networks as ``10.20.0.0/16``, names lower-case."""
        return tuple(self.webhook_allowed_networks.split(",")) if self.webhook_allowed_networks else ()


def _allowlist_entry(entry: str) -> str:
    """One allowlist entry, normalised; a ValueError saying what is wrong with it otherwise."""
    entry = entry.strip().lower()
    if ":" in entry or "/" in entry or all(_NUMERIC_LABEL.match(label) for label in entry.split(".")):
        try:
            return str(ipaddress.ip_network(entry))
        except ValueError as exc:  # "10.20.0.1/16 has host bits set", "127.1" is no network
            raise ValueError(f"{entry!r} is not a network (write e.g. 10.20.0.0/16 or 10.20.0.5): {exc}") from None
    name = entry.removesuffix(".")
    if not _HOST_NAME.match(name) or _NUMERIC_LABEL.match(name.rsplit(".", 1)[-1]):
        raise ValueError(f"{entry!r} is neither a network (10.20.0.0/16) nor a host name (hooks.internal)")
    return name


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings, read from the environment on first use and cached; tests call ``cache_clear()``."""
    return Settings()
