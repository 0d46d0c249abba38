"""Webhook routes: order systems register a URL to be told of credit-case events (see api.service.webhooks)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Path, Request, Response
from fastapi.openapi.models import Example
from pydantic import BaseModel, ConfigDict, Field

from api.adapters.db.records import WebhookRecord
from api.entrypoints.http.deps import ReadUowDep, UowDep, require
from api.entrypoints.http.problems import Problem
from api.service import webhooks
from api.service.keys import Caller

__all__ = ["SenderDep", "get_webhook_sender", "router"]

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])

Registrar = Annotated[Caller, Depends(require("register_webhook"))]
Event = Literal["case.opened", "case.released", "case.rejected"]
WebhookId = Annotated[
    int,
    Path(
        ge=1,
        le=2**31 - 1,
        description="The `id` registration returned.",
        openapi_examples={"webhook": Example(summary="A webhook", value=7)},
    ),
]


async def get_webhook_sender(request: Request) -> webhooks.WebhookSender:
    """The sender deliveries go through: ``app.state.webhook_sender`` (tests put a fake there, no network)."""
    sender: webhooks.WebhookSender = request.app.state.webhook_sender
    return sender


SenderDep = Annotated[webhooks.WebhookSender, Depends(get_webhook_sender)]


class WebhookRequest(BaseModel):
    """Where to POST, and which case events to send there."""

    model_config = ConfigDict(extra="forbid")
    url: str = Field(min_length=1, max_length=webhooks.MAX_URL_LENGTH, description="An http:// or https:// URL.")
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


def _problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {s: {"model": Problem, "content": {"application/problem+json": {}}} for s in (401, 403, *statuses)}


def _webhook(hook: WebhookRecord) -> WebhookOut:
    return WebhookOut(
        id=hook.id, url=hook.url, events=list(hook.events), created_by=hook.created_by, created_at=hook.created_at
    )


def _owner(caller: Caller) -> str | None:
    # Order systems manage their own webhooks; an admin sees and removes every one.
    return None if caller.role == "admin" else caller.name


@router.post("", status_code=201, response_model=RegisteredWebhookOut, responses=_problems(422))
def register_webhook(
    body: Annotated[WebhookRequest, Body(openapi_examples=EXAMPLES)], uow: UowDep, caller: Registrar
) -> RegisteredWebhookOut:
    """Register a URL for credit-case events; the response carries the signing secret, shown once.

    Each event is POSTed as JSON `{event, occurred_at, data: {case}}` with the headers
    `X-Creditpolicy-Event`, `X-Creditpolicy-Delivery` (stable across retries: deduplicate on it),
    `X-Creditpolicy-Timestamp` and `X-Creditpolicy-Signature: sha256=<hex>`, the HMAC-SHA256 of
    `"<timestamp>.<body>"` under the secret. Any answer but 2xx is retried with backoff (30 s
    doubling, up to an hour, 8 attempts).
    """
    hook, secret = webhooks.register_webhook(uow, body.url, list(body.events), caller.name)
    return RegisteredWebhookOut(**_webhook(hook).model_dump(), secret=secret)


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


@router.get(
    "",
    response_model=WebhookListOut,
    responses={200: {"content": {"application/json": {"example": LIST_EXAMPLE}}}, **_problems()},
)
def list_webhooks(uow: ReadUowDep, caller: Registrar) -> WebhookListOut:
    """The caller's webhooks (an admin's: every webhook), oldest first; secrets are never shown again."""
    return WebhookListOut(webhooks=[_webhook(h) for h in webhooks.list_webhooks(uow, _owner(caller))])


@router.delete("/{webhook_id}", status_code=204, responses=_problems(404))
def remove_webhook(webhook_id: WebhookId, uow: UowDep, caller: Registrar) -> Response:
    """Remove a webhook of the caller (an admin: any); its undelivered events are dropped with it."""
    webhooks.remove_webhook(uow, webhook_id, _owner(caller))
    return Response(status_code=204)
