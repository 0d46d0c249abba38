"""Webhooks on both databases: registration, the outbox, signed deliveries, retries with backoff."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx
import pytest

from api.adapters.db.unit_of_work import AbstractUnitOfWork
from api.adapters.webhook_sender import HttpxSender, SendFailed
from api.errors import InvalidWebhook, WebhookNotFound
from api.service.webhooks import (
    CLAIM_LEASE,
    MAX_ATTEMPTS,
    DeliveryReport,
    backoff,
    deliver_after_commit,
    deliver_pending,
    enqueue_event,
    list_webhooks,
    register_webhook,
    remove_webhook,
    verify_signature,
)
from tests.integration.conftest import UowFactory

T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
CASE = {"case": {"case_id": "c-1", "status": "released"}}


@dataclass
class Sent:
    url: str
    body: bytes
    headers: dict[str, str]


@dataclass
class FakeSender:
    """Answers each POST with the next status (the last one repeats); raises what it is given to raise."""

    statuses: list[int | Exception] = field(default_factory=lambda: [204])
    sent: list[Sent] = field(default_factory=list)

    def send(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        self.sent.append(Sent(url, body, dict(headers)))
        answer = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def register(uow: AbstractUnitOfWork, url: str = "https://erp.example/hooks", owner: str = "erp") -> tuple[int, str]:
    hook, secret = register_webhook(uow, url, ["case.released", "case.rejected"], owner)
    return hook.id, secret


def queue(make_uow: UowFactory, event: str = "case.released", at: dt.datetime = T0) -> None:
    with make_uow() as uow:
        enqueue_event(uow, event, CASE, at)
        uow.commit()


def test_registration_checks_url_and_events(make_uow: UowFactory) -> None:
    with make_uow() as uow:
        for url, events, code in (
            ("ftp://erp.example/x", ["case.opened"], "invalid_webhook_url"),
            ("https://", ["case.opened"], "invalid_webhook_url"),
            ("not a url", ["case.opened"], "invalid_webhook_url"),
            ("https://erp.example/a b", ["case.opened"], "invalid_webhook_url"),
            ("https://erp.example:99999/x", ["case.opened"], "invalid_webhook_url"),
            ("https://erp.example/" + "x" * 2000, ["case.opened"], "invalid_webhook_url"),
            ("https://erp.example/x", ["case.closed"], "unknown_webhook_event"),
            ("https://erp.example/x", [], "no_webhook_events"),
        ):
            with pytest.raises(InvalidWebhook) as refused:
                register_webhook(uow, url, events, "erp")
            assert refused.value.code == code
        hook, secret = register_webhook(uow, " http://erp.local:8080/h ", ["case.opened", "case.opened"], "erp")
    assert (hook.url, hook.events) == ("http://erp.local:8080/h", ("case.opened",))
    assert secret.startswith("whsec_") and len(secret) > 40
    with make_uow() as uow:
        assert [h.secret for h in list_webhooks(uow)] == [secret]  # kept: signing needs it


def test_listing_and_removal_are_per_owner(make_uow: UowFactory) -> None:
    with make_uow() as uow:
        mine, _ = register(uow, owner="erp")
        theirs, _ = register(uow, owner="shop")
    queue(make_uow)
    with make_uow() as uow:
        assert [h.id for h in list_webhooks(uow, "erp")] == [mine]
        assert [h.id for h in list_webhooks(uow)] == [mine, theirs]  # admin: every webhook
        with pytest.raises(WebhookNotFound):
            remove_webhook(uow, theirs, owner="erp")
        remove_webhook(uow, mine, owner="erp")
        with pytest.raises(WebhookNotFound) as gone:
            remove_webhook(uow, mine, owner="erp")
        assert gone.value.code == "webhook_not_found"
    with make_uow() as uow:
        assert [d.webhook_id for d in uow.webhooks.deliveries()] == [theirs]  # its queued event went with it


def test_an_event_is_queued_only_for_subscribed_webhooks(make_uow: UowFactory) -> None:
    with make_uow() as uow:
        register_webhook(uow, "https://a.example/h", ["case.opened"], "erp")
        released, _ = register(uow)
    queue(make_uow, "case.released")
    with make_uow() as uow:
        assert [(d.webhook_id, d.attempts, d.next_attempt_at) for d in uow.webhooks.deliveries()] == [(released, 0, T0)]


def test_deliveries_are_signed_and_sent_once(make_uow: UowFactory) -> None:
    with make_uow() as uow:
        hook_id, secret = register(uow)
    queue(make_uow)
    sender = FakeSender()
    assert deliver_pending(make_uow, sender, T0) == DeliveryReport(attempted=1, delivered=1)
    [sent] = sender.sent
    assert sent.url == "https://erp.example/hooks"
    assert sent.headers["X-Creditpolicy-Event"] == "case.released"
    assert sent.headers["Content-Type"] == "application/json"
    timestamp = int(sent.headers["X-Creditpolicy-Timestamp"])
    assert timestamp == int(T0.timestamp())
    assert verify_signature(secret, timestamp, sent.body, sent.headers["X-Creditpolicy-Signature"])
    assert not verify_signature("whsec_other", timestamp, sent.body, sent.headers["X-Creditpolicy-Signature"])
    assert not verify_signature(secret, timestamp + 1, sent.body, sent.headers["X-Creditpolicy-Signature"])
    body = json.loads(sent.body)
    assert body == {"event": "case.released", "occurred_at": T0.isoformat(), "data": CASE}
    with make_uow() as uow:
        [delivery] = uow.webhooks.deliveries(hook_id)
    assert sent.headers["X-Creditpolicy-Delivery"] == str(delivery.id)
    assert (delivery.attempts, delivery.delivered_at, delivery.next_attempt_at, delivery.last_error) == (
        1,
        T0,
        None,
        None,
    )
    assert deliver_pending(make_uow, sender, T0 + dt.timedelta(hours=2)) == DeliveryReport()
    assert len(sender.sent) == 1


def test_failures_are_retried_with_backoff_then_given_up(make_uow: UowFactory) -> None:
    with make_uow() as uow:
        register(uow)
    queue(make_uow)
    sender = FakeSender([500, SendFailed("ConnectTimeout: timed out"), 503])
    now = T0
    assert deliver_pending(make_uow, sender, now) == DeliveryReport(attempted=1, failed=1)
    with make_uow() as uow:
        [delivery] = uow.webhooks.deliveries()
    assert (delivery.attempts, delivery.last_error, delivery.next_attempt_at) == (1, "HTTP 500", now + backoff(1))
    assert backoff(1) == dt.timedelta(seconds=30) and backoff(2) == dt.timedelta(minutes=1)
    # Not due yet: nothing is sent.
    assert deliver_pending(make_uow, sender, now + dt.timedelta(seconds=29)).attempted == 0
    now += backoff(1)
    assert deliver_pending(make_uow, sender, now).failed == 1
    with make_uow() as uow:
        [delivery] = uow.webhooks.deliveries()
    assert (delivery.attempts, delivery.last_error, delivery.next_attempt_at) == (
        2,
        "ConnectTimeout: timed out",
        now + backoff(2),
    )
    reports = []
    while delivery.next_attempt_at is not None:
        now = delivery.next_attempt_at
        reports.append(deliver_pending(make_uow, sender, now))
        with make_uow() as uow:
            [delivery] = uow.webhooks.deliveries()
    assert reports[-1] == DeliveryReport(attempted=1, given_up=1)
    assert (delivery.attempts, delivery.delivered_at, delivery.last_error) == (MAX_ATTEMPTS, None, "HTTP 503")
    assert len(sender.sent) == MAX_ATTEMPTS
    assert backoff(MAX_ATTEMPTS) <= dt.timedelta(hours=1)


def test_a_claimed_delivery_is_not_sent_twice_until_its_lease_expires(make_uow: UowFactory) -> None:
    with make_uow() as uow:
        register(uow)
    queue(make_uow)
    with make_uow() as uow:
        [delivery] = uow.webhooks.due_deliveries(T0)
        assert uow.webhooks.claim_delivery(delivery.id, T0, T0 + CLAIM_LEASE)
        assert not uow.webhooks.claim_delivery(delivery.id, T0, T0 + CLAIM_LEASE)  # a second worker loses
        uow.commit()
    sender = FakeSender()
    assert deliver_pending(make_uow, sender, T0 + dt.timedelta(seconds=10)).attempted == 0
    # The first worker died without reporting: after the lease the row is due again.
    assert deliver_pending(make_uow, sender, T0 + CLAIM_LEASE).delivered == 1
    with make_uow() as uow:
        assert uow.webhooks.deliveries()[0].attempts == 2


def test_a_sender_bug_is_recorded_not_raised(make_uow: UowFactory) -> None:
    with make_uow() as uow:
        register(uow)
    queue(make_uow, at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))  # due whatever the clock says
    deliver_after_commit(make_uow, FakeSender([RuntimeError("boom")]))
    with make_uow() as uow:
        [delivery] = uow.webhooks.deliveries()
    assert (delivery.attempts, delivery.last_error) == (1, "RuntimeError: boom")


def test_the_httpx_sender_posts_the_body_and_headers() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202)

    sender = HttpxSender(transport=httpx.MockTransport(handler))
    assert sender.send("https://erp.example/h", b'{"a":1}', {"X-Creditpolicy-Event": "case.opened"}) == 202
    assert seen[0].method == "POST" and seen[0].content == b'{"a":1}'
    assert seen[0].headers["X-Creditpolicy-Event"] == "case.opened"


def test_the_httpx_sender_reports_transport_errors_and_does_not_follow_redirects() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(SendFailed, match="ConnectError"):
        HttpxSender(transport=httpx.MockTransport(refuse)).send("https://erp.example/h", b"{}", {})
    moved = HttpxSender(transport=httpx.MockTransport(lambda r: httpx.Response(302, headers={"Location": "/x"})))
    assert moved.send("https://erp.example/h", b"{}", {}) == 302
