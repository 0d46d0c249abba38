"""The bodies of the webhook routes as OpenAPI documents them."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from fastapi.openapi.models import Example
from pydantic import BaseModel, ConfigDict, Field

from api.service.webhooks import MAX_URL_LENGTH

__all__ = [
    "EXAMPLES",
    "Event",
    "LIST_EXAMPLE",
    "RegisteredWebhookOut",
    "WebhookListOut",
    "WebhookOut",
    "WebhookRequest",
]


Event = Literal["case.opened", "case.released", "case.rejected"]


class WebhookRequest(BaseModel):
    """Where to POST, and which case events to send there."""

    model_config = ConfigDict(extra="forbid")
    url: str = Field(min_length=1, max_length=MAX_URL_LENGTH, description="An http:// or https:// URL.")
    events: list[Event] = Field(min_length=1, max_length=3, description="Any of the three case events.")


class WebhookOut(BaseModel):
    id: int
    url: str
    events: list[str]
    created_by: str = Field(description="The API key that registered it; only it (or an admin) sees and removes it.")
    created_at: dt.datetime


class RegisteredWebhookOut(WebhookOut):
    secret: str = Field(
        description="The HMAC-SHA256 key of the `X-Creditpolicy-Signature` header. Shown this once: store it."
    )


class WebhookListOut(BaseModel):
    webhooks: list[WebhookOut]


EXAMPLES = {
    "all": Example(
        summary="Every case event",
        value={
            "url": "https://erp.example.com/credit-hooks",
            "events": ["case.opened", "case.released", "case.rejected"],
        },
    ),
    "resolutions": Example(
        summary="Only resolutions",
        value={"url": "https://erp.example.com/credit-hooks", "events": ["case.released", "case.rejected"]},
    ),
}


LIST_EXAMPLE = {
    "webhooks": [
        {
            "id": 7,
            "url": "https://erp.example.com/credit-hooks",
            "events": ["case.released", "case.rejected"],
            "created_by": "erp-prod",
            "created_at": "2026-06-30T08:15:00Z",
        }
    ]
}
