"""Webhook targets must be public: no private, loopback, link-local or otherwise special
address, unless the operator allowlists its network. Checked when a subscription is made and
again before every delivery (DNS can change between the two)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from urllib.parse import urlsplit

from ciam_notifier.errors import UnsafeWebhookUrl

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


async def _addresses(host: str, port: int) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host)]  # a literal address needs no lookup
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise UnsafeWebhookUrl(f"The host {host} does not resolve.") from exc
    return [ipaddress.ip_address(info[4][0]) for info in infos]


def networks(allowlist: Sequence[str]) -> list[IPNetwork]:
    return [ipaddress.ip_network(entry, strict=False) for entry in allowlist]


async def check_url(url: str, allowlist: Sequence[IPNetwork]) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http"):
        raise UnsafeWebhookUrl("A webhook URL must be http or https.")
    if not parts.hostname:
        raise UnsafeWebhookUrl("A webhook URL needs a host.")
    if parts.username or parts.password:
        raise UnsafeWebhookUrl("A webhook URL may not carry credentials.")
    for address in await _addresses(
        parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
    ):
        if address.is_global:
            continue
        if any(address in network for network in allowlist):
            continue
        raise UnsafeWebhookUrl(
            f"{parts.hostname} resolves to {address}, a non-public address; an operator can "
            "allow its network with NOTIFIER_WEBHOOK_ALLOWLIST."
        )
