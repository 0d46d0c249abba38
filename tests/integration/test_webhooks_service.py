"""Webhooks on both databases: registration, the outbox, signed deliveries, retries with backoff."""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import json
import ssl
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import httpx
import pytest
import trustme

from api.adapters.db.unit_of_work import AbstractUnitOfWork
from api.adapters.webhook_sender import HttpxSender, SendFailed
from api.adapters.webhook_targets import WebhookTargets
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
from tests.factories import PUBLIC_ADDRESS, recording_sender, webhook_targets
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


def register(
    uow: AbstractUnitOfWork,
    url: str = "https://erp.example/hooks",
    owner: str = "erp",
    targets: WebhookTargets | None = None,
) -> tuple[int, str]:
    hook, secret = register_webhook(
        uow, url, ["case.released", "case.rejected"], owner, targets=targets or webhook_targets()
    )
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
                register_webhook(uow, url, events, "erp", targets=webhook_targets())
            assert refused.value.code == code
        hook, secret = register_webhook(
            uow, " http://erp.local:8080/h ", ["case.opened", "case.opened"], "erp", targets=webhook_targets()
        )
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
        register_webhook(uow, "https://a.example/h", ["case.opened"], "erp", targets=webhook_targets())
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

    sender = HttpxSender(webhook_targets(), transport=httpx.MockTransport(handler))
    assert sender.send("https://erp.example/h", b'{"a":1}', {"X-Creditpolicy-Event": "case.opened"}) == 202
    assert seen[0].method == "POST" and seen[0].content == b'{"a":1}'
    assert seen[0].headers["X-Creditpolicy-Event"] == "case.opened"


def test_the_httpx_sender_reports_transport_errors_and_does_not_follow_redirects() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(SendFailed, match="ConnectError"):
        HttpxSender(webhook_targets(), transport=httpx.MockTransport(refuse)).send("https://erp.example/h", b"{}", {})
    moved = HttpxSender(
        webhook_targets(), transport=httpx.MockTransport(lambda r: httpx.Response(302, headers={"Location": "/x"}))
    )
    assert moved.send("https://erp.example/h", b"{}", {}) == 302


# --- internal addresses -------------------------------------------------------------------------
def test_an_internal_target_is_refused_at_registration_and_nothing_is_stored(make_uow: UowFactory) -> None:
    targets = webhook_targets({"metadata.internal": ["169.254.169.254"]})
    with make_uow() as uow:
        for url, message in (
            ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
            ("http://2130706433/", "2130706433 is 127.0.0.1, a loopback address"),
            ("http://[::ffff:10.0.0.1]/", "an IPv4-mapped form of 10.0.0.1, a private address"),
            ("http://metadata.internal/", "metadata.internal resolves to 169.254.169.254"),
            ("http://erp.example@127.0.0.1:5432/", "127.0.0.1 is a loopback address"),
        ):
            with pytest.raises(InvalidWebhook) as refused:
                register_webhook(uow, url, ["case.released"], "erp", targets=targets)
            assert refused.value.code == "webhook_url_forbidden" and message in refused.value.message
            assert refused.value.errors == [
                {"pointer": "/url", "message": refused.value.message, "code": "webhook_url_forbidden"}
            ]
    with make_uow() as uow:
        assert list_webhooks(uow) == []


@dataclass
class Switchable:
    """A resolver whose table the test edits between registration and delivery (DNS changed)."""

    answers: dict[str, list[str]]

    def resolve(self, host: str, port: int) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, ...]:
        return tuple(ipaddress.ip_address(a) for a in self.answers.get(host, ()))


def test_a_name_that_resolves_inside_at_delivery_is_refused_recorded_and_retried(make_uow: UowFactory) -> None:
    dns = Switchable({})
    targets = WebhookTargets(resolver=dns)
    with make_uow() as uow:  # not in DNS yet: accepted, since delivery checks again
        hook_id, _ = register(uow, "https://hooks.erp.example/credit", targets=targets)
    queue(make_uow)
    sender, seen = recording_sender(targets)

    dns.answers["hooks.erp.example"] = ["169.254.169.254"]
    assert deliver_pending(make_uow, sender, T0) == DeliveryReport(attempted=1, failed=1)
    assert seen == []
    with make_uow() as uow:
        [delivery] = uow.webhooks.deliveries(hook_id)
    assert (delivery.attempts, delivery.delivered_at, delivery.next_attempt_at, delivery.last_error) == (
        1,
        None,
        T0 + backoff(1),
        "refused: hooks.erp.example resolves to 169.254.169.254, a link-local address",
    )

    dns.answers["hooks.erp.example"] = [PUBLIC_ADDRESS]  # corrected: the retry goes out, to the checked address
    assert deliver_pending(make_uow, sender, T0 + backoff(1)) == DeliveryReport(attempted=1, delivered=1)
    [request] = seen
    assert request.url.host == PUBLIC_ADDRESS and request.headers["Host"] == "hooks.erp.example"
    assert request.extensions["sni_hostname"] == "hooks.erp.example"


def test_the_allowlist_opens_registration_and_delivery_to_exactly_what_it_names(make_uow: UowFactory) -> None:
    answers = {"hooks.internal": ["10.99.0.1"], "other.internal": ["10.99.0.1"]}
    allowed = webhook_targets(answers, allowed=["10.20.0.0/16", "hooks.internal"])
    with make_uow() as uow:
        inside, _ = register(uow, "http://10.20.0.7:9000/h", targets=allowed)
        named, _ = register(uow, "http://hooks.internal/h", targets=allowed)
        for url in ("http://10.21.0.7/h", "http://other.internal/h", "http://127.0.0.1/h"):
            with pytest.raises(InvalidWebhook, match="private|loopback"):
                register(uow, url, targets=allowed)
        assert [h.id for h in list_webhooks(uow)] == [inside, named]
    queue(make_uow)
    sender, seen = recording_sender(allowed)
    assert deliver_pending(make_uow, sender, T0).delivered == 2
    assert sorted((r.url.host, r.headers["Host"]) for r in seen) == [
        ("10.20.0.7", "10.20.0.7:9000"),
        ("10.99.0.1", "hooks.internal"),
    ]
    # The same rows under a service without the allowlist: refused at delivery, nothing sent.
    queue(make_uow)
    strict, not_seen = recording_sender(webhook_targets(answers))
    assert deliver_pending(make_uow, strict, T0).failed == 2 and not_seen == []
    with make_uow() as uow:
        errors = sorted(str(d.last_error) for d in uow.webhooks.deliveries() if d.delivered_at is None)
    assert errors == [
        "refused: 10.20.0.7 is a private address",
        "refused: hooks.internal resolves to 10.99.0.1, a private address",
    ]


def test_a_redirect_is_a_failed_delivery_with_its_reason(make_uow: UowFactory) -> None:
    with make_uow() as uow:
        register(uow)
    queue(make_uow)
    assert deliver_pending(make_uow, FakeSender([302]), T0).failed == 1
    with make_uow() as uow:
        [delivery] = uow.webhooks.deliveries()
    assert delivery.last_error == "HTTP 302: redirects are not followed"


class Receiver(BaseHTTPRequestHandler):
    """A webhook receiver on this machine: records each POST's Host header, path and body."""

    received: ClassVar[list[tuple[str, str, bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.received.append((self.headers["Host"], self.path, body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # quiet
        return


@pytest.fixture
def local_receiver() -> Iterator[int]:
    Receiver.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join()


def test_a_receiver_on_this_machine_is_reached_only_through_the_allowlist(
    make_uow: UowFactory, local_receiver: int
) -> None:
    """Real sockets: the pinned connection reaches 127.0.0.1 with the name's Host header."""
    url = f"http://hooks.internal:{local_receiver}/credit"
    answers = {"hooks.internal": ["127.0.0.1"]}
    with make_uow() as uow, pytest.raises(InvalidWebhook, match="hooks.internal resolves to 127.0.0.1"):
        register(uow, url, targets=webhook_targets(answers))
    allowed = webhook_targets(answers, allowed=["127.0.0.1/32"])
    with make_uow() as uow:
        _, secret = register(uow, url, targets=allowed)
    queue(make_uow)
    assert deliver_pending(make_uow, HttpxSender(webhook_targets(answers)), T0).failed == 1
    assert Receiver.received == []  # without the allowlist nothing left
    assert deliver_pending(make_uow, HttpxSender(allowed), T0 + backoff(1)).delivered == 1
    [(host, path, body)] = Receiver.received
    assert (host, path) == (f"hooks.internal:{local_receiver}", "/credit")
    assert json.loads(body)["event"] == "case.released"


@pytest.fixture(scope="module")
def certificate_authority() -> trustme.CA:
    return trustme.CA()


@contextlib.contextmanager
def tls_receiver(ca: trustme.CA, name: str) -> Iterator[int]:
    """A receiver on 127.0.0.1 serving HTTPS with a certificate for ``name`` only (no IP address in it)."""
    Receiver.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(name).configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_https_to_the_pinned_address_verifies_the_certificate_of_the_name(certificate_authority: trustme.CA) -> None:
    """Connecting to the checked IP must not weaken TLS: the certificate is checked against the URL's name."""
    trust = ssl.create_default_context()
    certificate_authority.configure_trust(trust)
    targets = webhook_targets({"hooks.internal": ["127.0.0.1"]}, allowed=["127.0.0.1/32"])
    sender = HttpxSender(targets, trust=trust)
    with tls_receiver(certificate_authority, "hooks.internal") as port:
        assert sender.send(f"https://hooks.internal:{port}/credit", b"{}", {}) == 204
        assert [host for host, _, _ in Receiver.received] == [f"hooks.internal:{port}"]
        # The same server by its address: the certificate does not name 127.0.0.1, so TLS refuses.
        with pytest.raises(SendFailed, match="CERTIFICATE_VERIFY_FAILED"):
            sender.send(f"https://127.0.0.1:{port}/credit", b"{}", {})
    with tls_receiver(certificate_authority, "someone-else.example") as port:
        with pytest.raises(SendFailed, match="CERTIFICATE_VERIFY_FAILED"):
            sender.send(f"https://hooks.internal:{port}/credit", b"{}", {})
    assert len(Receiver.received) == 0
