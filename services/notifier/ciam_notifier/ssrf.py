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
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            parts.hostname, port, type=socket.SOCK_STREAM
        )
    except OSError as exc:
        raise UnsafeWebhookUrl(f"The host {parts.hostname} does not resolve.") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if address.is_global:
            continue
        if any(address in network for network in allowlist):
            continue
        raise UnsafeWebhookUrl(
            f"{parts.hostname} resolves to {address}, a non-public address; an operator can "
            "allow its network with NOTIFIER_WEBHOOK_ALLOWLIST."
        )
