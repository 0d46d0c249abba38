"""Sending webhook deliveries over HTTP: the port (:class:`WebhookSender`) and its httpx implementation.

The outbox, signing and retries are the service's (:mod:`api.service.webhooks`); this module only
POSTs. Tests put a fake sender in its place (no network).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import httpx

from api.errors import SendFailed

__all__ = ["HttpxSender", "SendFailed", "WebhookSender", "parse_url"]


class WebhookSender(Protocol):
    """The port deliveries go through: POST ``body`` to ``url`` and return the HTTP status."""

    def send(self, url: str, body: bytes, headers: Mapping[str, str]) -> int: ...


def parse_url(url: str) -> tuple[str, str, int | None] | None:
    """``(scheme, host, port)`` of a URL as the sender reads it; None when it cannot read it at all."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return None
    return parsed.scheme, parsed.host, parsed.port


class HttpxSender:
    """The real sender: httpx, short timeouts, no redirects (a 3xx is a failed attempt, not a detour)."""

    TIMEOUT = httpx.Timeout(10.0, connect=3.0)

    def __init__(self, transport: httpx.BaseTransport | None = None) -> None:
        self._transport = transport

    def send(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        try:
            with httpx.Client(transport=self._transport, timeout=self.TIMEOUT, follow_redirects=False) as client:
                return client.post(url, content=body, headers=dict(headers)).status_code
        except httpx.HTTPError as exc:
            raise SendFailed(f"{type(exc).__name__}: {exc}") from exc
