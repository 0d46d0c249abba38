"""The bodies of the health routes as OpenAPI documents them."""

from __future__ import annotations

from pydantic import BaseModel

from engine.models import PolicyRef

__all__ = ["ChangeFeedOut", "LiveOut", "ReadyOut"]


class LiveOut(BaseModel):
    status: str


class ChangeFeedOut(BaseModel):
    """How this process hears of version and key changes made by others (not part of readiness)."""

    via: str  # "LISTEN creditpolicy_changes" (PostgreSQL) or "polling change_counters" (SQLite)
    live: bool  # hearing now; when false, cached versions and keys are trusted 1 s at most
    heard: int  # changes heard since start


class ReadyOut(BaseModel):
    status: str
    schema_revision: str | None
    policy: PolicyRef
    change_feed: ChangeFeedOut | None = None
