"""Webhooks never reach internal addresses: every spelling refused at registration and at delivery,
the sender connects only to the address it checked, and the operator's allowlist opens exactly what it names."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

import httpx
import pytest
from hypothesis import given, settings
from pydantic import ValidationError

from api.adapters.webhook_sender import HttpxSender
from api.adapters.webhook_targets import IPAddress, SystemResolver, WebhookTargets
from api.errors import DeliveryRefused, InvalidWebhook, SendFailed
from api.service.webhooks import check_url
from api.settings import Settings
from tests.factories import PUBLIC_ADDRESS, FakeResolver, recording_sender, webhook_targets
from tests.webhook_address_strategies import Address, Network, forbidden_hosts, public_hosts

DNS = {
    "erp.example": [PUBLIC_ADDRESS],
    "metadata.internal": ["169.254.169.254"],
    "mixed.example": [PUBLIC_ADDRESS, "10.0.0.1"],
    "db.example": ["::ffff:127.0.0.1"],
    "hooks.internal": ["10.99.0.1"],
    "other.internal": ["10.99.0.1"],
    "sub.hooks.internal": ["10.99.0.1"],
}
FORBIDDEN = "webhook_url_forbidden"
INVALID = "invalid_webhook_url"


def refusal(url: str, targets: WebhookTargets | None = None) -> InvalidWebhook:
    with pytest.raises(InvalidWebhook) as refused:
        check_url(url, targets or webhook_targets(DNS))
    return refused.value


@pytest.mark.parametrize(
    ("url", "code", "message"),
    [
        ("http://169.254.169.254/latest/meta-data/", FORBIDDEN, "169.254.169.254 is a link-local address"),
        ("http://127.0.0.1:5432/", FORBIDDEN, "127.0.0.1 is a loopback address"),
        ("http://127.8.9.10/", FORBIDDEN, "127.8.9.10 is a loopback address"),
        ("http://[::1]/", FORBIDDEN, "::1 is a loopback address"),
        ("http://0.0.0.0/", FORBIDDEN, "0.0.0.0 is an unspecified address"),
        ("http://[::]/", FORBIDDEN, ":: is an unspecified address"),
        ("http://0/", FORBIDDEN, "0 is 0.0.0.0, an unspecified address"),
        ("http://0.1.2.3/", FORBIDDEN, "a 'this network' address"),
        ("http://10.0.0.1/", FORBIDDEN, "10.0.0.1 is a private address"),
        ("http://172.16.5.4/", FORBIDDEN, "172.16.5.4 is a private address"),
        ("http://192.168.1.1/", FORBIDDEN, "192.168.1.1 is a private address"),
        ("http://[fd12:3456::1]/", FORBIDDEN, "fd12:3456::1 is a private address"),
        ("http://100.64.0.1/", FORBIDDEN, "100.64.0.1 is a shared (carrier-grade NAT) address"),
        ("http://[fe80::1]/", FORBIDDEN, "fe80::1 is a link-local address"),
        ("http://224.0.0.251/", FORBIDDEN, "224.0.0.251 is a multicast address"),
        ("http://[ff02::1]/", FORBIDDEN, "ff02::1 is a multicast address"),
        ("http://255.255.255.255/", FORBIDDEN, "255.255.255.255 is the broadcast address"),
        ("http://240.0.0.1/", FORBIDDEN, "240.0.0.1 is a reserved address"),
        ("http://192.0.2.10/", FORBIDDEN, "192.0.2.10 is a special-purpose address"),
        # Numeric spellings: the whole address, hex, octal, short forms, a trailing dot.
        ("http://2130706433/", FORBIDDEN, "2130706433 is 127.0.0.1, a loopback address"),
        ("http://0x7f000001/", FORBIDDEN, "0x7f000001 is 127.0.0.1"),
        ("http://017700000001/", FORBIDDEN, "017700000001 is 127.0.0.1"),
        ("http://0x7f.1/", FORBIDDEN, "0x7f.1 is 127.0.0.1"),
        ("http://0177.1/", FORBIDDEN, "0177.1 is 127.0.0.1"),
        ("http://127.1/", FORBIDDEN, "127.1 is 127.0.0.1"),
        ("http://127.0.1/", FORBIDDEN, "127.0.1 is 127.0.0.1"),
        ("http://0xA9.0xFE.0xA9.0xFE/", FORBIDDEN, "0xa9.0xfe.0xa9.0xfe is 169.254.169.254"),
        ("http://2852039166/", FORBIDDEN, "2852039166 is 169.254.169.254, a link-local address"),
        ("http://127.0.0.1./", FORBIDDEN, "127.0.0.1. is 127.0.0.1"),
        ("http://10.1./", FORBIDDEN, "10.1. is 10.0.0.1, a private address"),
        ("http://0177.0.0.1/", INVALID, "not an http:// or https:// URL"),  # httpx cannot send it
        # IPv6 forms carrying an IPv4 address.
        ("http://[::ffff:127.0.0.1]/", FORBIDDEN, "an IPv4-mapped form of 127.0.0.1, a loopback address"),
        ("http://[::ffff:a9fe:a9fe]/", FORBIDDEN, "an IPv4-mapped form of 169.254.169.254"),
        ("http://[0:0:0:0:0:ffff:7f00:1]/", FORBIDDEN, "an IPv4-mapped form of 127.0.0.1"),
        ("http://[::127.0.0.1]/", FORBIDDEN, "an IPv4-compatible form of 127.0.0.1"),
        ("http://[::8.8.8.8]/", FORBIDDEN, "a deprecated IPv4-compatible address"),
        ("http://[64:ff9b::169.254.169.254]/", FORBIDDEN, "a NAT64 form of 169.254.169.254"),
        ("http://[64:ff9b:1::1]/", FORBIDDEN, "a local-use NAT64 address"),
        ("http://[2002:a00:1::1]/", FORBIDDEN, "a 6to4 form of 10.0.0.1, a private address"),
        ("http://[fec0::1]/", FORBIDDEN, "fec0::1 is a site-local address"),
        ("http://[fe80::1%25eth0]/", INVALID, "carries an IPv6 zone"),
        # Userinfo tricks, credentials, encodings.
        ("http://erp.example@127.0.0.1/", FORBIDDEN, "127.0.0.1 is a loopback address"),
        ("http://127.0.0.1%2f@erp.example/", FORBIDDEN, "may not carry credentials"),
        ("https://user:secret@erp.example/hooks", FORBIDDEN, "may not carry credentials"),
        ("http://%31%32%37.0.0.1/", INVALID, "percent-encoded"),
        ("http://ex%61mple.com/", INVALID, "percent-encoded"),
        ("http://1.2.3.4.5/", INVALID, "ends in a number but is not an IPv4 address"),
        ("http://erp.1/", INVALID, "ends in a number but is not an IPv4 address"),
        ("http://0x7f.08/", INVALID, "08 is not an octal number"),
        ("http://256.0.0.1/", INVALID, "not an http:// or https:// URL"),
        ("http://1.16777216/", INVALID, "a part is out of range"),
        ("http://erp_ex!ample.com/", INVALID, "not a valid host name"),
        # Names: localhost by definition, others by what they resolve to now.
        ("http://localhost:8000/", FORBIDDEN, "localhost is a loopback name"),
        ("http://LOCALHOST./", FORBIDDEN, "localhost is a loopback name"),
        ("http://api.localhost/", FORBIDDEN, "api.localhost is a loopback name"),
        ("http://metadata.internal/", FORBIDDEN, "metadata.internal resolves to 169.254.169.254, a link-local"),
        ("http://mixed.example/", FORBIDDEN, "mixed.example resolves to 10.0.0.1, a private address"),
        ("http://db.example/", FORBIDDEN, "db.example resolves to ::ffff:7f00:1, an IPv4-mapped form of 127.0.0.1"),
        # Schemes other than http and https.
        ("gopher://127.0.0.1:6379/_", INVALID, "not an http:// or https:// URL"),
        ("file:///etc/passwd", INVALID, "not an http:// or https:// URL"),
        ("ftp://erp.example/x", INVALID, "not an http:// or https:// URL"),
    ],
)
def test_registration_refuses_internal_targets_in_every_spelling(url: str, code: str, message: str) -> None:
    refused = refusal(url)
    assert refused.code == code
    assert message in refused.message, refused.message
    assert refused.errors == [{"pointer": "/url", "message": refused.message, "code": code}]


def test_the_refusal_says_why_and_what_would_be_accepted() -> None:
    assert refusal("http://169.254.169.254/").message == (
        "169.254.169.254 is a link-local address; webhooks go only to public addresses and to networks"
        " the operator allowed"
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://erp.example/hooks",
        "https://ERP.example.:443/hooks?x=1",
        "http://8.8.8.8/hooks",
        "http://[2606:4700::1111]/hooks",
        "http://[::ffff:8.8.8.8]/",
        "http://[64:ff9b::8.8.8.8]/",
        "http://[2002:808:808::1]/",
        "https://not-yet-in-dns.example/hooks",  # does not resolve now: delivery checks again
        "http://xn--n3h.com/hooks",  # an IDN httpx cannot decode (was a 500: IDNAError escaped)
    ],
)
def test_public_targets_and_unresolved_names_are_accepted(url: str) -> None:
    assert check_url(f" {url} ", webhook_targets(DNS)) == url


def test_the_allowlist_permits_exactly_what_it_names() -> None:
    targets = webhook_targets(DNS, allowed=["10.20.0.0/16", "fd00:1::/32", "hooks.internal"])
    for url in (
        "http://10.20.3.4:8080/hooks",
        "http://[::ffff:10.20.3.4]/",
        "http://10.20.255.255/",
        "http://[fd00:1::5]/",
        "http://hooks.internal/h",  # the name, whatever it resolves to
        "http://HOOKS.INTERNAL./h",
    ):
        assert check_url(url, targets) == url
    for url, message in (
        ("http://10.21.0.1/", "10.21.0.1 is a private address"),
        ("http://10.19.255.255/", "10.19.255.255 is a private address"),
        ("http://127.0.0.1/", "127.0.0.1 is a loopback address"),
        ("http://[fd00:2::1]/", "fd00:2::1 is a private address"),
        ("http://other.internal/", "other.internal resolves to 10.99.0.1"),
        ("http://sub.hooks.internal/", "sub.hooks.internal resolves to 10.99.0.1"),  # a name, not a suffix
        ("http://169.254.169.254/", "link-local"),
    ):
        assert message in refusal(url, targets).message


@settings(max_examples=300)
@given(spelled=forbidden_hosts())
def test_any_spelling_of_a_forbidden_address_is_refused_at_registration_and_at_delivery(
    spelled: tuple[str, Network, Address],
) -> None:
    host, network, _ = spelled
    url = f"http://{host}:8080/hooks"
    with pytest.raises(InvalidWebhook) as refused:
        check_url(url, webhook_targets({}))
    assert refused.value.code in (FORBIDDEN, INVALID), (host, network)
    sender, connected = recording_sender(webhook_targets({}))
    with pytest.raises(SendFailed):
        sender.send(url, b"{}", {})
    assert connected == [], (host, network)


@settings(max_examples=300)
@given(public=public_hosts())
def test_any_public_address_is_accepted_and_is_where_the_sender_connects(public: tuple[str, IPAddress]) -> None:
    host, address = public
    url = f"https://{host}/hooks"
    assert check_url(url, webhook_targets({})) == url
    sender, connected = recording_sender(webhook_targets({}))
    assert sender.send(url, b"{}", {}) == 204
    [request] = connected
    assert ipaddress.ip_address(request.url.host) == (getattr(address, "ipv4_mapped", None) or address)


# --- delivery: the sender connects to the address it checked ------------------------------------
def test_the_sender_connects_to_the_vetted_address_with_the_name_as_host_and_sni() -> None:
    sender, seen = recording_sender(webhook_targets(DNS))
    assert sender.send("https://erp.example:8443/hooks?x=1", b'{"a":1}', {"X-Creditpolicy-Event": "e"}) == 204
    [request] = seen
    assert str(request.url) == f"https://{PUBLIC_ADDRESS}:8443/hooks?x=1"
    assert request.headers["Host"] == "erp.example:8443"
    assert request.extensions["sni_hostname"] == "erp.example"  # TLS checks the certificate of the name
    assert request.headers["X-Creditpolicy-Event"] == "e" and request.content == b'{"a":1}'
    sender.send("http://8.8.8.8/hooks", b"{}", {})
    assert seen[1].url.host == "8.8.8.8" and "sni_hostname" not in seen[1].extensions


class Rebinding:
    """A resolver whose answer changes after the first question: DNS rebinding."""

    def __init__(self, *answers: Sequence[str]) -> None:
        self.answers = list(answers)
        self.asked = 0

    def resolve(self, host: str, port: int) -> tuple[IPAddress, ...]:
        self.asked += 1
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return tuple(ipaddress.ip_address(a) for a in answer)


def test_dns_rebinding_between_check_and_connect_cannot_slip_through() -> None:
    resolver = Rebinding([PUBLIC_ADDRESS], ["127.0.0.1"])
    sender, seen = recording_sender(WebhookTargets(resolver=resolver))
    assert sender.send("http://rebind.example/h", b"{}", {}) == 204
    # One question per delivery; the connection went to the answer that was checked.
    assert resolver.asked == 1 and [r.url.host for r in seen] == [PUBLIC_ADDRESS]
    with pytest.raises(DeliveryRefused, match=r"refused: rebind.example resolves to 127.0.0.1, a loopback"):
        sender.send("http://rebind.example/h", b"{}", {})
    assert resolver.asked == 2 and len(seen) == 1


def test_delivery_refuses_a_stored_internal_url_and_a_name_now_resolving_inside() -> None:
    sender, seen = recording_sender(webhook_targets(DNS))
    for url, message in (
        ("http://127.0.0.1:5432/", "refused: 127.0.0.1 is a loopback address"),  # stored before the check existed
        ("http://2130706433/", "refused: 2130706433 is 127.0.0.1"),
        ("http://metadata.internal/", "refused: metadata.internal resolves to 169.254.169.254"),
        ("http://mixed.example/", "refused: mixed.example resolves to 10.0.0.1"),
        ("http://%31%32%37.0.0.1/", "refused: %31%32%37.0.0.1 is percent-encoded"),
    ):
        with pytest.raises(DeliveryRefused) as refused:
            sender.send(url, b"{}", {})
        assert refused.value.message.startswith(message) and refused.value.code == "webhook_target_forbidden"
    with pytest.raises(SendFailed, match="unknown.example does not resolve") as unresolved:
        sender.send("http://unknown.example/", b"{}", {})
    assert not isinstance(unresolved.value, DeliveryRefused)
    assert seen == []


def test_delivery_to_an_allowed_network_and_name() -> None:
    sender, seen = recording_sender(webhook_targets(DNS, allowed=["10.20.0.0/16", "hooks.internal"]))
    assert sender.send("http://10.20.0.7:9000/h", b"{}", {}) == 204
    assert sender.send("http://hooks.internal/h", b"{}", {}) == 204
    assert [(r.url.host, r.headers["Host"]) for r in seen] == [
        ("10.20.0.7", "10.20.0.7:9000"),
        ("10.99.0.1", "hooks.internal"),
    ]
    with pytest.raises(DeliveryRefused):
        sender.send("http://other.internal/h", b"{}", {})


def test_a_refused_connection_falls_through_to_the_next_vetted_address() -> None:
    tried: list[str] = []

    def first_one_down(request: httpx.Request) -> httpx.Response:
        tried.append(request.url.host)
        if len(tried) == 1:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(204)

    targets = webhook_targets({"two.example": ["2606:4700::1111", PUBLIC_ADDRESS]})
    assert (
        HttpxSender(targets, transport=httpx.MockTransport(first_one_down)).send("http://two.example/", b"", {}) == 204
    )
    assert tried == ["2606:4700::1111", PUBLIC_ADDRESS]

    def all_down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(SendFailed, match="ConnectError: connection refused"):
        HttpxSender(targets, transport=httpx.MockTransport(all_down)).send("http://two.example/", b"", {})


def test_redirects_are_answered_not_followed() -> None:
    sender, seen = recording_sender(
        webhook_targets(DNS), httpx.Response(307, headers={"Location": "http://127.0.0.1/"})
    )
    assert sender.send("https://erp.example/hooks", b"{}", {}) == 307
    assert len(seen) == 1


def test_the_system_resolver_answers_numbers_and_never_raises() -> None:
    resolver = SystemResolver()
    assert list(resolver.resolve("127.0.0.1", 80)) == [ipaddress.ip_address("127.0.0.1")]
    # Without a network question: a label longer than DNS allows fails in the encoder.
    assert resolver.resolve("x" * 64 + ".example", 80) == ()
    assert resolver.resolve("a\x00b", 80) == ()


def test_fake_resolver_is_what_the_policy_consulted() -> None:
    resolver = FakeResolver(DNS)
    WebhookTargets(resolver=resolver).vet("erp.example", 443)
    WebhookTargets(resolver=resolver).vet("127.0.0.1", 443)  # an address needs no question
    assert resolver.asked == ["erp.example"]


# --- the setting ---------------------------------------------------------------------------------
def test_the_allowlist_setting_is_read_and_normalised() -> None:
    settings = Settings(webhook_allowed_networks=" 10.20.0.0/16, Hooks.Internal., fd00::/8,10.0.0.5 ,")
    assert settings.webhook_allowlist == ("10.20.0.0/16", "hooks.internal", "fd00::/8", "10.0.0.5/32")
    assert Settings().webhook_allowlist == ()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("10.20.0.1/16", "has host bits set"),
        ("127.1", "is not a network"),
        ("10.0.0.0/33", "is not a network"),
        ("hooks internal", "neither a network"),
        ("*.internal", "neither a network"),
        ("hooks.1", "neither a network"),
    ],
)
def test_an_unusable_allowlist_entry_stops_the_start(value: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(webhook_allowed_networks=value)
