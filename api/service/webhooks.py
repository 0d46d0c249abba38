"""Webhooks: order systems register a URL and are told when a credit case opens, is released or rejected.

Delivery goes through an **outbox** so a notification is never sent for a change that was
rolled back, and never lost for one that was committed:

1. :func:`enqueue_event` writes one ``webhook_deliveries`` row per subscribed webhook, in the
   transaction of the case change (it commits or rolls back with it);
2. :func:`deliver_pending` later claims due rows, POSTs them and records the outcome. It never
   holds a transaction open while it waits on the network.

**Signing.** Each webhook gets a secret at registration, returned once. It is stored as is,
not hashed: HMAC signing needs the key itself (protect the database accordingly; to rotate,
register again and remove the old webhook). Every POST carries::

    X-Creditpolicy-Event: case.released
    X-Creditpolicy-Delivery: 42                    (the same on every retry: deduplicate on it)
    X-Creditpolicy-Timestamp: 1767603600           (unix seconds of this attempt)
    X-Creditpolicy-Signature: sha256=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>

A receiver recomputes the HMAC over the timestamp, a dot and the raw body (:func:`verify_signature`),
compares in constant time, and refuses stale timestamps, which defeats replays.

**Retries.** A 2xx answer is success; anything else (other status, timeout, refused
connection) is a failed attempt, retried after 30 s, 1, 2, 4 … minutes (doubling, at most one
hour) up to :data:`MAX_ATTEMPTS` attempts, then given up (``next_attempt_at`` NULL, the last
error kept). Delivery is at least once: a worker that dies mid-send leaves its claim to expire
after :data:`CLAIM_LEASE` and the row is sent again.

**Internal addresses.** A webhook never reaches a loopback, private, link-local, shared,
multicast, unspecified or reserved address unless the operator allowed its network or its name
(``CREDITPOLICY_WEBHOOK_ALLOWED_NETWORKS``; see :mod:`api.adapters.webhook_targets`).
Registration refuses such a URL (``webhook_url_forbidden``); the sender checks again before every
attempt, on a fresh resolution, and connects to the address it checked. A delivery refused then
(its name now resolves inside) is a failed attempt, ``last_error`` ``refused: …``, retried on the
usual backoff — DNS or the allowlist may be corrected meanwhile — and given up like any other.

**When it runs.** The HTTP app schedules :func:`deliver_after_commit` as a background task of
every request that may enqueue events (FastAPI runs background tasks after the response, so
after the request's commit). Failed deliveries are retried on the next such run; a process that
wants retries without traffic runs :func:`deliver_forever` in a thread.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from api.adapters.db.records import WebhookDeliveryRecord, WebhookRecord
from api.adapters.db.tables import WEBHOOK_EVENTS
from api.adapters.db.unit_of_work import AbstractUnitOfWork
from api.adapters.webhook_sender import SendFailed, WebhookSender, parse_url
from api.adapters.webhook_targets import HostInvalid, WebhookTargets
from api.errors import InvalidWebhook, WebhookNotFound

__all__ = [
    "CLAIM_LEASE",
    "EVENTS",
    "MAX_ATTEMPTS",
    "DeliveryReport",
    "backoff",
    "check_url",
    "deliver_after_commit",
    "deliver_forever",
    "deliver_pending",
    "enqueue_event",
    "list_webhooks",
    "register_webhook",
    "remove_webhook",
    "sign_payload",
    "verify_signature",
]

log = logging.getLogger(__name__)

EVENTS: tuple[str, ...] = WEBHOOK_EVENTS
MAX_ATTEMPTS = 8
FIRST_RETRY = dt.timedelta(seconds=30)
LONGEST_RETRY = dt.timedelta(hours=1)
# Longer than the sender's timeouts, so a live worker always finishes before its claim expires.
CLAIM_LEASE = dt.timedelta(minutes=2)
MAX_URL_LENGTH = 2000  # the width of webhooks.url
MAX_ERROR_LENGTH = 500

UowFactory = Callable[[], AbstractUnitOfWork]


# --- registration ---------------------------------------------------------------------------
def check_url(url: str, targets: WebhookTargets) -> str:
    """The URL to store, stripped; InvalidWebhook (pointing at ``/url``) when webhooks may not go there.

    The host is read as the sender reads it and vetted by the same check the sender runs before
    every delivery: a name that does not resolve now is accepted (DNS may change; delivery checks
    again), a name resolving to any internal address is not.
    """
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise _refused_url(f"the URL is longer than {MAX_URL_LENGTH} characters", "invalid_webhook_url")
    malformed = _refused_url(f"{url!r} is not an http:// or https:// URL with a host", "invalid_webhook_url")
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        raise malformed
    # What the sender cannot parse is refused now, not at every delivery.
    parsed = parse_url(url)
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise malformed
    if not (parsed.port is None or 0 < parsed.port < 65536):
        raise malformed
    try:
        verdict = targets.vet(parsed.host, parsed.effective_port)
    except HostInvalid as exc:
        raise _refused_url(str(exc), "invalid_webhook_url") from None
    if verdict.refusal is not None:
        raise _refused_url(
            f"{verdict.refusal}; webhooks go only to public addresses and to networks the operator allowed",
            "webhook_url_forbidden",
        )
    if parsed.has_credentials:
        raise _refused_url(
            "a webhook URL may not carry credentials (user:password@): the signature authenticates deliveries",
            "webhook_url_forbidden",
        )
    return url


def _refused_url(message: str, code: str) -> InvalidWebhook:
    return InvalidWebhook(message, code=code, pointer="/url")


def _checked_events(events: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    unknown = sorted(set(events) - set(EVENTS))
    if unknown:
        raise InvalidWebhook(
            f"unknown event {', '.join(unknown)}; events are {', '.join(EVENTS)}",
            code="unknown_webhook_event",
            pointer="/events",
        )
    if not events:
        raise InvalidWebhook(
            f"name at least one event of {', '.join(EVENTS)}", code="no_webhook_events", pointer="/events"
        )
    return tuple(dict.fromkeys(events))  # without repeats, in the order given


def register_webhook(
    uow: AbstractUnitOfWork,
    url: str,
    events: list[str] | tuple[str, ...],
    caller: str,
    *,
    targets: WebhookTargets,
) -> tuple[WebhookRecord, str]:
    """Store a webhook and return it with its signing secret, which is shown this once.

    ``targets`` decides which hosts are acceptable (see :func:`check_url`); nothing is stored
    when the URL or the events are refused.
    """
    checked_events = _checked_events(events)  # first: it costs no DNS question
    checked_url = check_url(url, targets)
    secret = f"whsec_{secrets.token_urlsafe(32)}"
    record = uow.webhooks.add(checked_url, checked_events, caller, uow.now(), secret)
    uow.commit()
    return record, secret


def list_webhooks(uow: AbstractUnitOfWork, owner: str | None = None) -> list[WebhookRecord]:
    """The webhooks registered by ``owner`` (every webhook when None), oldest first."""
    return [hook for hook in uow.webhooks.list() if owner in (None, hook.created_by)]


def remove_webhook(uow: AbstractUnitOfWork, webhook_id: int, owner: str | None = None) -> None:
    """Delete a webhook (of ``owner``, when given) and its queued deliveries; raises WebhookNotFound."""
    hook = uow.webhooks.get(webhook_id)
    # Another caller's webhook reads as absent: its existence is none of this caller's business.
    if hook is None or owner not in (None, hook.created_by):
        raise WebhookNotFound(f"no webhook {webhook_id}")
    uow.webhooks.remove(webhook_id)
    uow.commit()


# --- the outbox -----------------------------------------------------------------------------
def enqueue_event(uow: AbstractUnitOfWork, event: str, data: Mapping[str, Any], at: dt.datetime) -> int:
    """Queue ``event`` for every webhook subscribed to it, in the caller's transaction; returns the count."""
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event!r}")
    body = json.dumps(
        {"event": event, "occurred_at": at.isoformat(), "data": dict(data)},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    hooks = uow.webhooks.for_event(event)
    for hook in hooks:
        uow.webhooks.add_delivery(hook.id, event, body, at)
    return len(hooks)


def sign_payload(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value: ``sha256=`` and the hex HMAC-SHA256 of ``f"{timestamp}.{body}"``."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(secret: str, timestamp: int, body: bytes, signature: str) -> bool:
    """What a receiver does: recompute the signature and compare in constant time."""
    return hmac.compare_digest(sign_payload(secret, timestamp, body), signature)


def backoff(attempts: int) -> dt.timedelta:
    """The wait after the ``attempts``-th failed attempt: 30 s doubling each time, at most an hour."""
    factor: int = 2 ** min(max(attempts - 1, 0), 16)  # bounded: the cap is reached long before
    return min(FIRST_RETRY * factor, LONGEST_RETRY)


@dataclass(frozen=True)
class DeliveryReport:
    """What one :func:`deliver_pending` run did."""

    attempted: int = 0
    delivered: int = 0
    failed: int = 0  # will be retried
    given_up: int = 0  # failed for the last time


Claimed = list[tuple[WebhookDeliveryRecord, WebhookRecord | None]]


def _claim(uow_factory: UowFactory, now: dt.datetime | None, limit: int) -> tuple[dt.datetime, Claimed]:
    with uow_factory() as uow:
        now = now or uow.now()
        claimed = [
            (delivery, uow.webhooks.get(delivery.webhook_id))
            for delivery in uow.webhooks.due_deliveries(now, limit)
            if uow.webhooks.claim_delivery(delivery.id, now, now + CLAIM_LEASE)
        ]
        uow.commit()
    return now, claimed


def _attempt(
    sender: WebhookSender, delivery: WebhookDeliveryRecord, hook: WebhookRecord | None, now: dt.datetime
) -> str | None:
    """Send one delivery; the error text, or None on success."""
    if hook is None:
        return "the webhook was removed"
    if not hook.secret:
        return "the webhook has no signing secret (registered before 0002): register it again"
    body = delivery.payload_json.encode("utf-8")
    timestamp = int(now.timestamp())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "creditpolicy-webhooks/1",
        "X-Creditpolicy-Event": delivery.event,
        "X-Creditpolicy-Delivery": str(delivery.id),
        "X-Creditpolicy-Timestamp": str(timestamp),
        "X-Creditpolicy-Signature": sign_payload(hook.secret, timestamp, body),
    }
    try:
        status = sender.send(hook.url, body, headers)
    except SendFailed as exc:
        return str(exc)[:MAX_ERROR_LENGTH]
    except Exception as exc:  # a faulty sender must not stop the other deliveries; the row keeps the error
        log.exception("webhook sender failed on delivery %s", delivery.id)
        return f"{type(exc).__name__}: {exc}"[:MAX_ERROR_LENGTH]
    if 300 <= status < 400:  # following it would send the event to a target nobody checked
        return f"HTTP {status}: redirects are not followed"
    return None if 200 <= status < 300 else f"HTTP {status}"


def deliver_pending(
    uow_factory: UowFactory, sender: WebhookSender, now: dt.datetime | None = None, *, limit: int = 100
) -> DeliveryReport:
    """Send every due delivery once (up to ``limit``) and record each outcome; see the module doc."""
    now, claimed = _claim(uow_factory, now, limit)
    delivered = failed = given_up = 0
    for delivery, hook in claimed:
        error = _attempt(sender, delivery, hook, now)
        # delivery.attempts is the count before this claim; the claim counted this attempt.
        attempts = delivery.attempts + 1
        retry_at = None if error is None or attempts >= MAX_ATTEMPTS else now + backoff(attempts)
        with uow_factory() as uow:
            uow.webhooks.finish_attempt(
                delivery.id, delivered_at=now if error is None else None, last_error=error, next_attempt_at=retry_at
            )
            uow.commit()
        if error is None:
            delivered += 1
        elif retry_at is None:
            given_up += 1
            log.warning("webhook delivery %s given up after %s attempts: %s", delivery.id, attempts, error)
        else:
            failed += 1
    return DeliveryReport(len(claimed), delivered, failed, given_up)


def deliver_after_commit(uow_factory: UowFactory, sender: WebhookSender) -> None:
    """Deliver what is due, never raising: schedule it as a background task after a case-changing request.

    ``background_tasks.add_task(deliver_after_commit, new_uow, sender)`` — FastAPI runs
    it after the response is sent, so after the request's transaction committed its outbox rows.
    """
    try:
        deliver_pending(uow_factory, sender)
    except Exception:  # a background task has no one to raise to; the rows stay due and are retried
        log.exception("webhook delivery run failed")


def deliver_forever(
    uow_factory: UowFactory, stop: threading.Event, sender: WebhookSender, interval: float = 15.0
) -> None:
    """Run :func:`deliver_after_commit` every ``interval`` seconds until ``stop`` is set (for a thread)."""
    while not stop.wait(interval):
        deliver_after_commit(uow_factory, sender)
