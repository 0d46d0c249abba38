"""Webhook routes: order systems register a URL to be told of credit-case events (see api.service.webhooks)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Response
from fastapi.openapi.models import Example

from api.adapters.db.records import WebhookRecord
from api.entrypoints.http.deps import ReadUowDep, TargetsDep, UowDep, require
from api.entrypoints.http.fast_path import AuthorizedRoute
from api.entrypoints.http.problems import problems
from api.entrypoints.http.schemas.webhooks import (
    EXAMPLES,
    LIST_EXAMPLE,
    RegisteredWebhookOut,
    WebhookListOut,
    WebhookOut,
    WebhookRequest,
)
from api.service import webhooks
from api.service.keys import Caller

__all__ = ["router"]

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"], route_class=AuthorizedRoute)

Registrar = Annotated[Caller, Depends(require("register_webhook"))]
WebhookId = Annotated[
    int,
    Path(
        ge=1,
        le=2**31 - 1,
        description="The `id` registration returned.",
        openapi_examples={"webhook": Example(summary="A webhook", value=7)},
    ),
]


def _webhook(hook: WebhookRecord) -> WebhookOut:
    return WebhookOut(
        id=hook.id, url=hook.url, events=list(hook.events), created_by=hook.created_by, created_at=hook.created_at
    )


def _owner(caller: Caller) -> str | None:
    # Order systems manage their own webhooks; an admin sees and removes every one.
    return None if caller.role == "admin" else caller.name


@router.post("", status_code=201, response_model=RegisteredWebhookOut, responses=problems(422))
def register_webhook(
    body: Annotated[WebhookRequest, Body(openapi_examples=EXAMPLES)],
    uow: UowDep,
    caller: Registrar,
    targets: TargetsDep,
) -> RegisteredWebhookOut:
    """Register a URL for credit-case events; the response carries the signing secret, shown once.

    Each event is POSTed as JSON `{event, occurred_at, data: {case}}` with the headers
    `X-Creditpolicy-Event`, `X-Creditpolicy-Delivery` (stable across retries: deduplicate on it),
    `X-Creditpolicy-Timestamp` and `X-Creditpolicy-Signature: sha256=<hex>`, the HMAC-SHA256 of
    `"<timestamp>.<body>"` under the secret. Any answer but 2xx is retried with backoff (30 s
    doubling, up to an hour, 8 attempts).

    The URL must lead to a public address: a host that is, spells or resolves to a loopback,
    private, link-local, shared, multicast or reserved address is refused (422
    `webhook_url_forbidden`, nothing stored) unless the operator allowed its network, and so is a
    URL with credentials. Each delivery checks the host again and connects to the checked address;
    redirects are not followed.
    """
    hook, secret = webhooks.register_webhook(uow, body.url, list(body.events), caller.name, targets=targets)
    return RegisteredWebhookOut(**_webhook(hook).model_dump(), secret=secret)


@router.get(
    "",
    response_model=WebhookListOut,
    responses={200: {"content": {"application/json": {"example": LIST_EXAMPLE}}}, **problems()},
)
def list_webhooks(uow: ReadUowDep, caller: Registrar) -> WebhookListOut:
    """The caller's webhooks (an admin's: every webhook), oldest first; secrets are never shown again."""
    return WebhookListOut(webhooks=[_webhook(h) for h in webhooks.list_webhooks(uow, _owner(caller))])


@router.delete("/{webhook_id}", status_code=204, responses=problems(404))
def remove_webhook(webhook_id: WebhookId, uow: UowDep, caller: Registrar) -> Response:
    """Remove a webhook of the caller (an admin: any); its undelivered events are dropped with it."""
    webhooks.remove_webhook(uow, webhook_id, _owner(caller))
    return Response(status_code=204)
