"""What a request tells about where a consent was collected, minimised before it is kept."""

from __future__ import annotations

import hashlib
import ipaddress

from fastapi import Request

from ciam_consent.service.recording import Context
from ciam_shared.events import CollectionMethod
from ciam_shared.tokens import Principal
from ciam_shared.tokens.principal import Kind


def truncate_ip(raw: str | None) -> str | None:
    """IPv4 to its /24, IPv6 to its /48: enough to tell a region, not a person."""
    if not raw:
        return None
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return None
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def hash_user_agent(raw: str | None) -> str | None:
    return hashlib.sha256(raw.encode()).hexdigest() if raw else None


def gpc_signal(request: Request) -> bool:
    """Only `Sec-GPC: 1` counts; an absent or other value is never read as an opt-in."""
    return request.headers.get("sec-gpc", "").strip() == "1"


def source_app(principal: Principal) -> str | None:
    """The app a change came from: an app's own token names itself; a customer's token names
    the app it was issued to (the auth service's own pages, `ciam-auth`, or the third-party
    app acting for the customer). An admin's change names no app."""
    if principal.kind is Kind.CUSTOMER:
        return principal.client_id
    return principal.app


def request_context(
    request: Request, principal: Principal, collected_via: CollectionMethod, device: str | None
) -> Context:
    client = request.client.host if request.client else None
    return Context(
        collected_via=collected_via,
        source_app=source_app(principal),
        device=device,
        ip_prefix=truncate_ip(client),
        user_agent_hash=hash_user_agent(request.headers.get("user-agent")),
    )
