"""The bodies of the health routes as OpenAPI documents them."""

from __future__ import annotations

from pydantic import BaseModel

from engine.models import PolicyRef

__all__ = ["LiveOut", "ReadyOut"]


class LiveOut(BaseModel):
    status: str


class ReadyOut(BaseModel):
    status: str
    schema_revision: str | None
    policy: PolicyRef
