"""The bodies of the key routes as OpenAPI documents them."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from fastapi.openapi.models import Example
from pydantic import BaseModel, ConfigDict, Field

from api.adapters.db.records import ApiKeyRecord

__all__ = ["EXAMPLES", "CreatedKeyOut", "KeyListOut", "KeyOut", "KeyRequest", "key_out"]

Role = Literal["decide", "author", "approve", "audit", "admin"]


class KeyRequest(BaseModel):
    """Who the key is for (recorded as the actor of everything it does) and its role."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(
        min_length=1,
        max_length=100,
        description="1 to 100 letters, digits, `_ . @ -`, starting with a letter or digit; never reused.",
    )
    role: Role = Field(description="What the key may do (see the roles above).")


class KeyOut(BaseModel):
    name: str
    role: str
    prefix: str = Field(description="The key's public part, `cp_<prefix>_…`: tells keys apart without the secret.")
    created_at: dt.datetime
    revoked_at: dt.datetime | None
    active: bool


class CreatedKeyOut(KeyOut):
    key: str = Field(description="The key itself, shown this once (only its sha256 is stored): store it now.")


class KeyListOut(BaseModel):
    keys: list[KeyOut]


def key_out(record: ApiKeyRecord) -> KeyOut:
    return KeyOut(
        name=record.name,
        role=record.role,
        prefix=record.key_prefix,
        created_at=record.created_at,
        revoked_at=record.revoked_at,
        active=record.active,
    )


EXAMPLES = {
    "erp": Example(summary="An order system", value={"name": "erp-prod", "role": "decide"}),
    "approver": Example(summary="A credit manager who approves", value={"name": "bob@credit", "role": "approve"}),
}
