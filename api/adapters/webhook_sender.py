"""Sending webhook deliveries over HTTP: the port (:class:`WebhookSender`) and its httpx implementation.

The outbox, signing and retries are the service's (:mod:`api.service.webhooks`); this module only
POSTs, and only where :class:`~api.adapters.webhook_targets.WebhookTargets` allows. Tests put a
fake sender in its place, or give the real one a fake resolver and an ``httpx.MockTransport``.
"""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import httpx

from api.adapters.webhook_targets import HostInvalid, IPAddress, WebhookTargets
from api.errors import DeliveryRefused, SendFailed

__all__ = ["HttpxSender", "ParsedUrl", "SendFailed", "WebhookSender", "parse_url"]


class WebhookSender(Protocol):
    """The port deliveries go through: POST ``body`` to ``url`` and return the HTTP status."""

    def send(self, url: str, body: bytes, headers: Mapping[str, str]) -> int: ...


@dataclass(frozen=True)
class ParsedUrl:
    """A URL as the sender reads it: ``host`` is what goes on the wire (punycode, no brackets)."""

    url: httpx.URL
    scheme: str
    host: str
    port: int | None
    has_credentials: bool

    @property
    def effective_port(self) -> int:
        return self.port if self.port is not None else 443 if self.scheme == "https" else 80


def parse_url(url: str) -> ParsedUrl | None:
    """The URL as the sender reads it; None when it cannot read it at all."""
    try:
        parsed = httpx.URL(url)
        host = parsed.raw_host.decode("ascii").lower()
        port = parsed.port
    except (httpx.InvalidURL, ValueError):  # idna's errors are ValueErrors (``xn--n3h.com``)
        return None
    return ParsedUrl(parsed, parsed.scheme, host, port, bool(parsed.userinfo))


class HttpxSender:
    """The real sender: httpx, short timeouts, to vetted addresses only, no redirects.

    The host is resolved once and every address checked (:meth:`WebhookTargets.vet`); the request
    then goes to a checked address, with the URL's own ``Host`` header and, for https, its name
    as SNI and for the certificate check — so an answer that changes between the check and the
    connection (DNS rebinding) is never used. A 3xx is returned as it is: following it would
    reach an unchecked target. Proxy variables are ignored for the same reason.
    """

    TIMEOUT = httpx.Timeout(10.0, connect=3.0)

    def __init__(
        self,
        targets: WebhookTargets,
        transport: httpx.BaseTransport | None = None,
        *,
        trust: ssl.SSLContext | None = None,
    ) -> None:
        """``trust``: the certificate authorities to verify receivers with (the system's when None)."""
        self._targets = targets
        self._transport = transport
        self._verify: ssl.SSLContext | bool = trust if trust is not None else True

    def send(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        parsed = parse_url(url)
        if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
            raise SendFailed(f"{url!r} is not an http:// or https:// URL with a host")
        try:
            verdict = self._targets.vet(parsed.host, parsed.effective_port)
        except HostInvalid as exc:
            raise DeliveryRefused(f"refused: {exc}") from None
        if verdict.refusal is not None:
            raise DeliveryRefused(f"refused: {verdict.refusal}")
        if not verdict.addresses:
            raise SendFailed(f"{parsed.host} does not resolve")
        wire_headers = {**headers, "Host": parsed.url.netloc.decode("ascii")}
        extensions = {} if verdict.literal or parsed.scheme != "https" else {"sni_hostname": parsed.host}
        connection_error: httpx.ConnectError | None = None
        with httpx.Client(
            transport=self._transport,
            verify=self._verify,
            timeout=self.TIMEOUT,
            follow_redirects=False,
            trust_env=False,
        ) as client:
            for address in verdict.addresses:
                pinned = parsed.url.copy_with(host=str(_connectable(address)))
                try:
                    return client.post(pinned, content=body, headers=wire_headers, extensions=extensions).status_code
                except httpx.ConnectError as exc:
                    connection_error = exc  # try the next address, as browsers do
                except httpx.HTTPError as exc:
                    raise SendFailed(f"{type(exc).__name__}: {exc}") from exc
        raise SendFailed(f"ConnectError: {connection_error}")


def _connectable(address: IPAddress) -> IPAddress:
    """An IPv4-mapped IPv6 address as the IPv4 address it maps: reachable without a dual-stack socket."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address
