"""Webhook targets must be globally routable unicast addresses, unless the operator allowlists
their network. Checked when a subscription is made and again before every delivery; the
delivery then connects to exactly the address checked (`ciam_notifier.webhook_http`), so DNS
cannot answer differently between the check and the connection (rebinding).

An IPv6 address that embeds an IPv4 one is judged by the IPv4 address it leads to:
IPv4-mapped (`::ffff:a.b.c.d`, which the kernel connects to over IPv4), NAT64 with the
well-known prefix (`64:ff9b::/96`, RFC 6052: a translator turns it into the IPv4 address),
6to4 (`2002::/16`, RFC 3056) and Teredo (`2001::/32`, RFC 4380: server and client). The
deprecated IPv4-compatible form (`::a.b.c.d`) and the local-use NAT64 prefix
(`64:ff9b:1::/48`, RFC 8215: never routed globally, its embedding length is the operator's
choice) are refused whatever they embed; they are decoded only to name the address in the
refusal. The rules are our own lists (IANA special-purpose registries), not
`ipaddress.is_global` alone, whose answers differ between Python versions and which counts
multicast, `::a.b.c.d` and `64:ff9b::/96` as global.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import yarl

from ciam_notifier.errors import UnsafeWebhookUrl

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# (host, port) -> every address the name has. Injectable so tests can play DNS.
Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]

_V4 = ipaddress.ip_network
_NOT_GLOBAL_V4 = tuple(
    _V4(n)
    for n in (
        "0.0.0.0/8",  # "this network"
        "10.0.0.0/8",
        "100.64.0.0/10",  # carrier-grade NAT
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, cloud metadata
        "172.16.0.0/12",
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation
        "192.88.99.0/24",  # 6to4 relay anycast (deprecated)
        "192.168.0.0/16",
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, and the broadcast address
    )
)
_GLOBAL_UNICAST_V6 = ipaddress.IPv6Network("2000::/3")
_NOT_GLOBAL_V6 = tuple(
    ipaddress.IPv6Network(n)
    for n in (
        "2001::/23",  # IETF protocol assignments (Teredo is decoded before this applies)
        "2001:db8::/32",  # documentation
        "3fff::/20",  # documentation (RFC 9637)
    )
)
_COMPATIBLE = ipaddress.IPv6Network("::/96")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_TEREDO = ipaddress.IPv6Network("2001::/32")


def _v4_public(address: ipaddress.IPv4Address) -> bool:
    return address.is_global and not any(address in n for n in _NOT_GLOBAL_V4)


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address leads to or carries (empty: none)."""
    if address.ipv4_mapped is not None:
        return [address.ipv4_mapped]
    if address in _TEREDO:
        server, client = address.teredo or (None, None)
        return [a for a in (server, client) if a is not None]
    if address.sixtofour is not None:
        return [address.sixtofour]
    low32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _NAT64 or address in _COMPATIBLE:
        return [low32]
    if address in _NAT64_LOCAL:  # RFC 6052 layout for a /48 prefix: octets at 6-7 and 9-10
        packed = address.packed
        return [ipaddress.IPv4Address(packed[6:8] + packed[9:11])]
    return []


def is_public(address: IPAddress) -> bool:
    """Globally routable unicast, judged by the IPv4 address behind an embedded form."""
    if isinstance(address, ipaddress.IPv4Address):
        return _v4_public(address)
    if address.ipv4_mapped is not None or address in _NAT64 or address in _TEREDO:
        return all(_v4_public(a) for a in embedded_ipv4(address))
    if address.sixtofour is not None:
        return _v4_public(address.sixtofour)
    return (
        address in _GLOBAL_UNICAST_V6  # excludes ::/96, 64:ff9b:1::/48, ULA, link-local, ff00::/8
        and address.is_global
        and not any(address in n for n in _NOT_GLOBAL_V6)
    )


def _allowlisted(address: IPAddress, allowlist: Sequence[IPNetwork]) -> bool:
    # An IPv4-mapped address is the IPv4 destination itself; other embedded forms are not.
    candidates: list[IPAddress] = [address]
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        candidates.append(address.ipv4_mapped)
    return any(a in network for a in candidates for network in allowlist)


def networks(allowlist: Sequence[str]) -> list[IPNetwork]:
    return [ipaddress.ip_network(entry, strict=False) for entry in allowlist]


async def system_resolver(host: str, port: int) -> list[IPAddress]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    # A scoped address ("fe80::1%eth0") keeps its scope; the classification refuses it anyway.
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))


@dataclass(frozen=True)
class Target:
    """A checked webhook URL: the host as the HTTP client will name it (Host header, TLS
    server name) and every address it had at the check, in the resolver's order."""

    url: str
    host: str
    addresses: tuple[IPAddress, ...]


@dataclass(frozen=True)
class WebhookGuard:
    allowlist: tuple[IPNetwork, ...] = ()
    resolver: Resolver = system_resolver

    async def check(self, url: str) -> Target:
        """Refuse (UnsafeWebhookUrl) unless the URL is http(s) without credentials and every
        address its host has now is public or allowlisted."""
        try:
            # The HTTP client's own parser (aiohttp's), so the host checked is the host it
            # connects to.
            parsed = yarl.URL(url)
        except (ValueError, TypeError) as exc:
            raise UnsafeWebhookUrl("The webhook URL cannot be parsed.") from exc
        if parsed.scheme not in ("https", "http"):
            raise UnsafeWebhookUrl("A webhook URL must be http or https.")
        if not parsed.raw_host:
            raise UnsafeWebhookUrl("A webhook URL needs a host.")
        if parsed.user is not None or parsed.password is not None:
            raise UnsafeWebhookUrl("A webhook URL may not carry credentials.")
        host = parsed.raw_host.lower()
        addresses = await self._addresses(host, parsed.port or 0)
        for address in addresses:
            if not is_public(address) and not _allowlisted(address, self.allowlist):
                leads_to = (
                    embedded_ipv4(address) if isinstance(address, ipaddress.IPv6Address) else []
                )
                via = f" (which leads to {', '.join(map(str, leads_to))})" if leads_to else ""
                raise UnsafeWebhookUrl(
                    f"{host} resolves to {address}{via}, not a globally routable unicast "
                    "address; an operator can allow its network with "
                    "NOTIFIER_WEBHOOK_ALLOWLIST."
                )
        return Target(url=url, host=host, addresses=addresses)

    async def _addresses(self, host: str, port: int) -> tuple[IPAddress, ...]:
        try:
            return (ipaddress.ip_address(host),)  # a literal address needs no lookup
        except ValueError:
            pass
        try:
            found = await self.resolver(host, port)
        except OSError as exc:
            raise UnsafeWebhookUrl(f"The host {host} does not resolve.") from exc
        if not found:
            raise UnsafeWebhookUrl(f"The host {host} does not resolve.")
        return tuple(found)


async def check_url(url: str, allowlist: Sequence[IPNetwork]) -> Target:
    """The check with the system resolver (kept for callers that need no other)."""
    return await WebhookGuard(tuple(allowlist)).check(url)
