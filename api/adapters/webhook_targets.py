"""Where a webhook may be sent: public addresses, and the internal ones an operator allowed.

Registration (:mod:`api.service.webhooks`) and delivery (:mod:`api.adapters.webhook_sender`) ask
the same question, :meth:`WebhookTargets.vet`, of the host exactly as the sender's URL parser
(httpx) reads it, so no second parser can read a URL differently:

- a host that *spells* an address in any notation (``2130706433``, ``0x7f.1``, ``127.1``,
  ``127.0.0.1.``, ``[::ffff:127.0.0.1]``) is that address, decoded here without DNS;
- a name is resolved and *every* address it resolves to must be acceptable (a name mixing a
  public and an internal address is how DNS rebinding is set up);
- an address is acceptable when it is globally routable (:data:`ipaddress` ``is_global``, not
  multicast, not reserved, and for IPv6 forms that embed an IPv4 address — mapped, compatible,
  NAT64, 6to4 — the embedded address too), or inside a network of the operator's allowlist;
- a name on the allowlist may lead anywhere: the operator vouched for it.

The sender connects to an address this check returned, never to the name again, so an answer
that changes between the check and the connection (DNS rebinding) cannot slip through.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

__all__ = [
    "AllowList",
    "HostInvalid",
    "IPAddress",
    "Resolver",
    "SystemResolver",
    "Verdict",
    "WebhookTargets",
    "literal_address",
    "why_forbidden",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# A label in the notations inet_aton and the WHATWG URL standard read as a number: decimal,
# octal (leading 0) or hex (0x); the length bound keeps int() far from its digit limit.
_NUMBER = re.compile(r"(?:0x[0-9a-f]{0,40}|[0-9]{1,40})\Z")
_NAME = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*\Z")  # ASCII: httpx has punycoded any IDN
# Ranges ipaddress does not single out (or, in older Pythons, calls global) that no webhook
# receiver lives in: shared CGNAT space, IETF protocol assignments, IPv6 documentation (RFC 9637),
# local-use NAT64, site-local.
_SHARED = ipaddress.IPv4Network("100.64.0.0/10")
_SPECIAL_PURPOSE = (ipaddress.IPv4Network("192.0.0.0/24"), ipaddress.IPv6Network("3fff::/20"))
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_PRIVATE = (
    ipaddress.IPv4Network("10.0.0.0/8"),
    ipaddress.IPv4Network("172.16.0.0/12"),
    ipaddress.IPv4Network("192.168.0.0/16"),
    ipaddress.IPv6Network("fc00::/7"),
)
_THIS_NETWORK = ipaddress.IPv4Network("0.0.0.0/8")
_BROADCAST = ipaddress.IPv4Address("255.255.255.255")


class HostInvalid(ValueError):
    """A host that is neither a valid name nor a valid address (``0x7f.08``, ``%31.0.0.1``, a zone id)."""


def literal_address(host: str) -> IPAddress | None:
    """The address ``host`` spells, in any notation clients and resolvers accept; None for a name.

    ``host`` is as httpx hands it over: without brackets or port. An IPv4 host may be written as
    one to four numbers, each decimal, octal or hex, the last filling the remaining bytes
    (``127.1``, ``0x7f000001``), with a trailing dot. A host whose last label is a number is an
    address or nothing: ``1.2.3.4.5`` and ``foo.1`` are refused rather than looked up.
    """
    host = host.lower()
    if "%" in host:
        raise HostInvalid(f"{host} is percent-encoded or carries an IPv6 zone: write the host plainly")
    if ":" in host:  # only IPv6 literals have a colon once httpx took the port off
        try:
            return ipaddress.IPv6Address(host)
        except ValueError:
            raise HostInvalid(f"{host} is not a valid IPv6 address") from None
    labels = (host[:-1] if host.endswith(".") else host).split(".")
    if not _NUMBER.match(labels[-1]):
        return None
    if len(labels) > 4 or not all(_NUMBER.match(label) for label in labels):
        raise HostInvalid(f"{host} ends in a number but is not an IPv4 address")
    numbers = [_number(label, host) for label in labels]
    *leading, last = numbers
    if any(number > 255 for number in leading) or last >= 256 ** (5 - len(numbers)):
        raise HostInvalid(f"{host} is not an IPv4 address: a part is out of range")
    value = sum(number << (8 * (3 - index)) for index, number in enumerate(leading)) + last
    return ipaddress.IPv4Address(value)


def _number(label: str, host: str) -> int:
    if label.startswith("0x"):
        return int(label[2:] or "0", 16)
    if len(label) > 1 and label.startswith("0"):
        try:
            return int(label, 8)
        except ValueError:
            raise HostInvalid(f"{host} is not an IPv4 address: {label} is not an octal number") from None
    return int(label)


def why_forbidden(address: IPAddress) -> str | None:
    """Why no webhook may go to ``address`` (``"a link-local address"``); None for a public address."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded, form = _embedded_ipv4(address)
        if embedded is not None:
            inner = why_forbidden(embedded)
            if inner is not None:
                return f"{form} form of {embedded}, {inner}"
            if form != "an IPv4-compatible":
                return None
            return "a deprecated IPv4-compatible address"
        if address in _LOCAL_NAT64:
            return "a local-use NAT64 address"
        if address.is_site_local:
            return "a site-local address"
    if address.is_unspecified:
        return "an unspecified address"
    if address in _THIS_NETWORK:
        return "a 'this network' address (0.0.0.0/8)"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address in _SHARED:
        return "a shared (carrier-grade NAT) address"
    if any(address in network for network in _PRIVATE):
        return "a private address"
    if address == _BROADCAST:
        return "the broadcast address"
    if address.is_reserved:
        return "a reserved address"
    if not address.is_global or any(address in network for network in _SPECIAL_PURPOSE):
        return "a special-purpose address, not a public one"
    return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address | None, str]:
    """The IPv4 address an IPv6 address carries (mapped, compatible, NAT64, 6to4), and its form's name."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped, "an IPv4-mapped"
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF), "a NAT64"
    if address.sixtofour is not None:
        return address.sixtofour, "a 6to4"
    if address in _IPV4_COMPATIBLE and int(address) > 1:  # :: and ::1 are themselves
        return ipaddress.IPv4Address(int(address)), "an IPv4-compatible"
    return None, ""


@dataclass(frozen=True)
class AllowList:
    """Internal networks and host names an operator allowed (``CREDITPOLICY_WEBHOOK_ALLOWED_NETWORKS``)."""

    networks: tuple[IPNetwork, ...] = ()
    hosts: frozenset[str] = frozenset()

    @classmethod
    def from_entries(cls, entries: Iterable[str]) -> AllowList:
        """Each entry a network (``10.20.0.0/16``), an address (a /32 or /128) or a host name."""
        networks: list[IPNetwork] = []
        hosts: set[str] = set()
        for entry in entries:
            try:
                networks.append(ipaddress.ip_network(entry))
            except ValueError:
                hosts.add(entry.lower().rstrip("."))
        return cls(tuple(networks), frozenset(hosts))

    def permits_address(self, address: IPAddress) -> bool:
        candidates = [address]
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            candidates.append(address.ipv4_mapped)  # ::ffff:10.20.0.5 is 10.20.0.5
        return any(candidate in network for candidate in candidates for network in self.networks)

    def permits_host(self, name: str) -> bool:
        return name in self.hosts


class Resolver(Protocol):
    """The addresses a host name resolves to; empty when it does not resolve (now)."""

    def resolve(self, host: str, port: int) -> Sequence[IPAddress]: ...


class SystemResolver:
    """The operating system's resolver (``getaddrinfo``), in its order of preference."""

    def resolve(self, host: str, port: int) -> Sequence[IPAddress]:
        try:
            found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError, ValueError):  # no such name, no network, a label too long
            return ()
        addresses: dict[IPAddress, None] = {}
        for family, _, _, _, sockaddr in found:
            if family in (socket.AF_INET, socket.AF_INET6):
                try:
                    addresses[ipaddress.ip_address(str(sockaddr[0]).split("%")[0])] = None
                except ValueError:
                    continue
        return tuple(addresses)


@dataclass(frozen=True)
class Verdict:
    """Where a host leads: the addresses to connect to, or why none may be used."""

    addresses: tuple[IPAddress, ...]  # empty: the name does not resolve now
    refusal: str | None = None  # "169.254.169.254 is a link-local address"
    literal: bool = False  # the host is an address, not a name (no SNI when connecting)


@dataclass(frozen=True)
class WebhookTargets:
    """The question registration and delivery both ask: may a request go to this host, and where to?"""

    allowed: AllowList = field(default_factory=AllowList)
    resolver: Resolver = field(default_factory=SystemResolver)

    def vet(self, host: str, port: int) -> Verdict:
        """The verdict on ``host`` (as httpx parsed it); raises HostInvalid for a malformed host."""
        address = literal_address(host)
        if address is not None:
            return Verdict((address,), self._refusal(address, host), literal=True)
        name = host.lower().removesuffix(".")
        if not _NAME.match(name):
            raise HostInvalid(f"{host} is not a valid host name")
        if self.allowed.permits_host(name):
            return Verdict(tuple(self.resolver.resolve(name, port)))
        if name == "localhost" or name.endswith(".localhost"):  # RFC 6761: never leaves the machine
            return Verdict((), f"{name} is a loopback name")
        addresses = tuple(self.resolver.resolve(name, port))
        for resolved in addresses:
            if not self.allowed.permits_address(resolved) and (reason := why_forbidden(resolved)) is not None:
                return Verdict(addresses, f"{name} resolves to {resolved}, {reason}")
        return Verdict(addresses)

    def _refusal(self, address: IPAddress, spelled: str) -> str | None:
        if self.allowed.permits_address(address):
            return None
        reason = why_forbidden(address)
        if reason is None:
            return None
        try:
            plain = ipaddress.ip_address(spelled) == address
        except ValueError:
            plain = False
        return f"{spelled} is {reason}" if plain else f"{spelled} is {address}, {reason}"
