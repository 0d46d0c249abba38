"""Addresses webhooks must never reach, in every spelling a URL can give them, and public ones.

The networks are written out here, from the IANA special-purpose registries, independently of the
code under test (which leans on :mod:`ipaddress`): a property that compared the code with itself
could not fail. ``UNSETTLED`` holds ranges whose verdict differs between Python releases or
registries; the properties draw nothing from them.
"""

from __future__ import annotations

import ipaddress

from hypothesis import assume
from hypothesis import strategies as st

__all__ = [
    "Address",
    "FORBIDDEN_V4",
    "FORBIDDEN_V6",
    "Network",
    "forbidden_hosts",
    "public_hosts",
    "spelled_ipv4",
]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

FORBIDDEN_V4 = tuple(
    ipaddress.IPv4Network(n)
    for n in (
        "0.0.0.0/8",  # this network, unspecified
        "10.0.0.0/8",  # RFC 1918
        "100.64.0.0/10",  # shared, carrier-grade NAT
        "127.0.0.0/8",  # loopback
        "169.254.0.0/16",  # link-local (cloud metadata at 169.254.169.254)
        "172.16.0.0/12",  # RFC 1918
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation
        "192.168.0.0/16",  # RFC 1918
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # documentation
        "203.0.113.0/24",  # documentation
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, and the broadcast address
    )
)
FORBIDDEN_V6 = tuple(
    ipaddress.IPv6Network(n)
    for n in (
        "::/128",  # unspecified
        "::1/128",  # loopback
        "100::/64",  # discard-only
        "64:ff9b:1::/48",  # local-use NAT64
        "2001:db8::/32",  # documentation
        "3fff::/20",  # documentation (RFC 9637)
        "fc00::/7",  # unique local (RFC 4193)
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local (deprecated)
        "ff00::/8",  # multicast
        "4000::/2",  # unassigned space outside 2000::/3 (a sample)
    )
)
UNSETTLED: tuple[Network, ...] = (
    ipaddress.IPv4Network("192.88.99.0/24"),  # the deprecated 6to4 relay anycast
    ipaddress.IPv6Network("2001::/23"),  # IETF protocol assignments, some of them global
    ipaddress.IPv6Network("2002::/16"),  # 6to4: the verdict is the embedded IPv4 address's
    ipaddress.IPv6Network("2620:4f:8000::/48"),  # AS112, private only in newer Pythons
)
GLOBAL_V6 = ipaddress.IPv6Network("2000::/3")


def _bytes_of(value: int) -> list[int]:
    return [(value >> shift) & 0xFF for shift in (24, 16, 8, 0)]


def _part(value: int, radix: str) -> str:
    if radix == "hex":
        return f"0x{value:x}"
    if radix == "HEX":
        return f"0X{value:X}"
    if radix == "oct":
        return f"0{value:o}"
    return str(value)


@st.composite
def spelled_ipv4(draw: st.DrawFn, value: int) -> str:
    """``value`` as a URL host: one to four parts (the last filling the rest), each part decimal,
    octal or hex, maybe a trailing dot; or an IPv6 form carrying it (mapped, NAT64, compatible)."""
    octets = _bytes_of(value)
    form = draw(st.sampled_from(["parts", "parts", "parts", "mapped", "mapped-hex", "nat64", "compatible"]))
    dotted = ".".join(map(str, octets))
    high, low = value >> 16, value & 0xFFFF
    if form == "mapped":
        return f"[::ffff:{dotted}]"
    if form == "mapped-hex":
        return f"[0:0:0:0:0:FFFF:{high:x}:{low:x}]"
    if form == "nat64":
        return f"[64:ff9b::{dotted}]"
    if form == "compatible":
        return f"[::{dotted}]"
    count = draw(st.integers(1, 4))
    parts = [*octets[: count - 1], value & (2 ** (8 * (5 - count)) - 1)]
    radixes = draw(st.lists(st.sampled_from(["dec", "oct", "hex", "HEX"]), min_size=count, max_size=count))
    host = ".".join(_part(part, radix) for part, radix in zip(parts, radixes, strict=True))
    return host + "." if draw(st.booleans()) else host


def _within(network: Network) -> st.SearchStrategy[int]:
    return st.integers(int(network.network_address), int(network.broadcast_address))


@st.composite
def forbidden_hosts(draw: st.DrawFn) -> tuple[str, Network, Address]:
    """A host spelling an address of a forbidden network: the host, the network, the address."""
    if draw(st.booleans()):
        network: Network = draw(st.sampled_from(FORBIDDEN_V4))
        value = draw(_within(network))
        return draw(spelled_ipv4(value)), network, ipaddress.IPv4Address(value)
    network = draw(st.sampled_from(FORBIDDEN_V6))
    if draw(st.booleans()):  # 6to4 of a forbidden IPv4 address
        v4 = draw(st.sampled_from(FORBIDDEN_V4))
        embedded = draw(_within(v4))
        host = f"[2002:{embedded >> 16:x}:{embedded & 0xFFFF:x}::{draw(st.integers(0, 0xFFFF)):x}]"
        return host, v4, ipaddress.IPv4Address(embedded)
    address = ipaddress.IPv6Address(draw(_within(network)))
    spelled = draw(st.sampled_from([address.compressed, address.exploded, address.compressed.upper()]))
    return f"[{spelled}]", network, address


def _settled_public(address: Address) -> bool:
    forbidden = FORBIDDEN_V4 if address.version == 4 else FORBIDDEN_V6
    return not any(address in network for network in (*forbidden, *UNSETTLED) if network.version == address.version)


@st.composite
def public_hosts(draw: st.DrawFn) -> tuple[str, Address]:
    """A public address (outside every forbidden and unsettled range) as a URL host, and the address."""
    address: Address
    if draw(st.booleans()):
        address = ipaddress.IPv4Address(draw(st.integers(0, 2**32 - 1)))
    else:
        address = ipaddress.IPv6Address(draw(_within(GLOBAL_V6)))
    assume(_settled_public(address))
    return (str(address) if address.version == 4 else f"[{address}]"), address
