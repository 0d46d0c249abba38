"""Service configuration: the one place that reads the environment (prefix ``CREDITPOLICY_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DEFAULT_DATABASE_URL", "Settings", "get_settings"]

DEFAULT_DATABASE_URL = "sqlite:///var/creditpolicy.db"


class Settings(BaseSettings):
    """Everything the service and the CLI can be configured with, validated once at start."""

    model_config = SettingsConfigDict(env_prefix="CREDITPOLICY_", extra="ignore", frozen=True)

    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL; SQLite file by default, e.g. postgresql+psycopg://user@host:5432/db",
    )
    database_echo: bool = Field(False, description="log every SQL statement (debugging only)")
    policy_file: Path = Field(Path("rules/standard.yaml"), description="policy published and activated on first start")
    webhook_retry_seconds: float = Field(
        15.0, ge=0, description="how often pending webhook deliveries are retried in the background (0: never)"
    )
    host: str = Field("127.0.0.1", description="address `creditpolicy serve` listens on")
    port: int = Field(8000, ge=1, le=65535, description="port `creditpolicy serve` listens on")
    api_key: str | None = Field(
        None, repr=False, description="the API key the CLI's store-changing commands act as (`--key` overrides it)"
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings, read from the environment on first use and cached; tests call ``cache_clear()``."""
    return Settings()
