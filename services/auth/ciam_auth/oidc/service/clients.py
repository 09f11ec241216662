"""Brand apps as OIDC clients: registration by an admin, authentication at the token endpoint.

Every change is published on the compacted BRAND_APPS topic, so consent, profile and notifier
know each app, its brand and its declared purposes without calling this service.
"""

from __future__ import annotations

import base64
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from urllib.parse import unquote

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from ciam_auth.models import OAuthClient
from ciam_auth.oidc import assertions, policy
from ciam_auth.oidc.errors import InvalidClient, invalid_request
from ciam_auth.oidc.registration import (
    SECRET_METHODS,
)
from ciam_auth.oidc.registration import (
    AuthMethod as AuthMethod,
)
from ciam_auth.oidc.registration import (
    ClientSpec as ClientSpec,
)
from ciam_auth.oidc.registration import (
    GrantType as GrantType,
)
from ciam_auth.oidc.registration import (
    InvalidClientRegistration as InvalidClientRegistration,
)
from ciam_auth.oidc.registration import (
    check as check,
)
from ciam_auth.oidc.registration import (
    columns as columns,
)
from ciam_auth.oidc.registration import (
    secret_hash as secret_hash,
)
from ciam_auth.oidc.repository import clients as repository
from ciam_shared.db import utcnow
from ciam_shared.events import BrandAppDeleted, BrandAppRegistered, CloudEvent
from ciam_shared.http.problems import DomainError
from ciam_shared.outbox import stage, stage_tombstone
from ciam_shared.topics import BRAND_APPS

SOURCE = "/ciam/auth"


class ClientNotFound(DomainError):
    status = 404
    type_slug = "client-not-found"
    title = "No such client"


async def register(
    session: AsyncSession, spec: ClientSpec, *, topic_prefix: str, loopback_http: bool = False
) -> tuple[OAuthClient, str | None]:
    """Create a client; returns it and its secret, which is shown this once only."""
    check(spec, loopback_http=loopback_http)
    secret = secrets.token_urlsafe(32) if spec.auth_method in SECRET_METHODS else None
    now = utcnow()
    client = OAuthClient(
        client_id="app_" + secrets.token_urlsafe(12),
        secret_hash=secret_hash(secret) if secret else None,
        created_at=now,
        updated_at=now,
        **columns(spec),
    )
    await repository.add_client(session, client)
    await publish(session, client, topic_prefix)
    return client, secret


async def update_client(
    session: AsyncSession,
    client_id: str,
    spec: ClientSpec,
    *,
    topic_prefix: str,
    loopback_http: bool = False,
) -> OAuthClient:
    client = await get(session, client_id)
    if (client.auth_method == "none") != (spec.auth_method == "none"):
        raise InvalidClientRegistration("A client cannot switch between public and confidential.")
    check(spec, loopback_http=loopback_http)
    if spec.auth_method in SECRET_METHODS and client.secret_hash is None:
        raise InvalidClientRegistration(
            "This client has no secret: keep private_key_jwt, or register a new client."
        )
    for name, value in columns(spec).items():
        setattr(client, name, value)
    client.updated_at = utcnow()
    await repository.saved(session)
    await publish(session, client, topic_prefix)
    return client


async def rotate_secret(session: AsyncSession, client_id: str) -> str:
    client = await get(session, client_id)
    if client.auth_method not in SECRET_METHODS:
        raise InvalidClientRegistration(f"A {client.auth_method} client has no secret.")
    secret = secrets.token_urlsafe(32)
    client.secret_hash = secret_hash(secret)
    client.updated_at = utcnow()
    await repository.saved(session)
    return secret


async def remove(session: AsyncSession, client_id: str, *, topic_prefix: str) -> None:
    """Delete the app, revoke every refresh token it holds, and publish the deletion."""
    client = await get(session, client_id)
    now = utcnow()
    await repository.delete_client(session, client, now)
    event = BrandAppDeleted(client_id=client_id, deleted_at=now)
    await stage(session, CloudEvent.wrap(event, source=SOURCE), topic_prefix=topic_prefix)
    await stage_tombstone(
        session,
        topic_base_name=BRAND_APPS.base_name,
        key=client_id,
        version=0,
        topic_prefix=topic_prefix,
    )


async def get(session: AsyncSession, client_id: str) -> OAuthClient:
    client = await repository.client(session, client_id)
    if client is None:
        raise ClientNotFound(f"No client `{client_id}`.")
    return client


async def find(session: AsyncSession, client_id: str) -> OAuthClient | None:
    """The client, or None (read afresh: not from the token endpoint's cache)."""
    return await repository.client(session, client_id)


async def list_all(session: AsyncSession) -> list[OAuthClient]:
    return await repository.all_clients(session)


async def breaking_the_model(session: AsyncSession) -> list[str]:
    """Ids of clients written before the rules that hold an admin scope with a redirect URI
    or the code grant: they get no admin scope until an operator splits them (policy.py)."""
    return [
        c.client_id
        for c in await list_all(session)
        if policy.admin_scopes(c.scopes) and not policy.is_operator(c)
    ]


async def publish(session: AsyncSession, client: OAuthClient, topic_prefix: str) -> None:
    event = BrandAppRegistered(
        client_id=client.client_id,
        name=client.name,
        brand=client.brand,
        purposes=client.purposes,
        scopes=client.scopes,
        first_party=client.first_party,
        registered_at=client.created_at,
        updated_at=client.updated_at,
    )
    await stage(session, CloudEvent.wrap(event, source=SOURCE), topic_prefix=topic_prefix)


# --- authentication at the token, introspection and revocation endpoints -----------------


@dataclass(frozen=True)
class Credentials:
    client_id: str
    # The client secret, or the client assertion with private_key_jwt.
    secret: str | None
    method: AuthMethod


def credentials(request: Request, form: dict[str, str]) -> Credentials:
    """Read the client's credentials from the Basic header or the form (RFC 6749 2.3.1)."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    basic = scheme.lower() == "basic"
    if basic:
        if "client_secret" in form:
            raise invalid_request("Use one client authentication method, not two.")
        try:
            raw_id, sep, raw_secret = base64.b64decode(value, validate=True).decode().partition(":")
        except ValueError:
            raise InvalidClient("Malformed Basic credentials.", basic=True) from None
        if not sep:
            raise InvalidClient("Malformed Basic credentials.", basic=True)
        client_id = unquote(raw_id.replace("+", " "))
        if form.get("client_id") not in (None, client_id):
            raise invalid_request("client_id differs from the authenticated client.")
        return Credentials(client_id, unquote(raw_secret.replace("+", " ")), "client_secret_basic")
    if "client_assertion" in form or "client_assertion_type" in form:
        return _assertion(form)
    posted_id = form.get("client_id")
    if not posted_id:
        raise InvalidClient("Client authentication is required.", basic=True)
    if "client_secret" in form:
        return Credentials(posted_id, form["client_secret"], "client_secret_post")
    return Credentials(posted_id, None, "none")


def _assertion(form: dict[str, str]) -> Credentials:
    if "client_secret" in form:
        raise invalid_request("Use one client authentication method, not two.")
    if form.get("client_assertion_type") != assertions.ASSERTION_TYPE:
        raise InvalidClient(f"client_assertion_type must be {assertions.ASSERTION_TYPE}.")
    assertion = form.get("client_assertion", "")
    # The client id may be left out (RFC 7523 3): it is then the assertion's `sub`, read
    # unverified here only to find the client whose keys will verify it.
    client_id = form.get("client_id") or _unverified_sub(assertion)
    if not client_id:
        raise InvalidClient("The client_assertion names no client.")
    return Credentials(client_id, assertion, "private_key_jwt")


def _unverified_sub(assertion: str) -> str | None:
    try:
        segment = assertion.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, IndexError):
        return None
    sub = claims.get("sub") if isinstance(claims, dict) else None
    return sub if isinstance(sub, str) and 0 < len(sub) <= 64 else None


class ClientCache:
    """Clients read at the token endpoint, kept for a few seconds: a grant then needs no
    database round trip. This replica forgets a client as soon as it changes; another replica
    may accept a deleted client or a rotated secret for at most `ttl_s` (documented)."""

    MAX_ENTRIES = 10_000

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._entries: dict[str, tuple[float, OAuthClient]] = {}

    async def get(self, session: AsyncSession, client_id: str) -> OAuthClient | None:
        hit = self._entries.get(client_id)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        client = await repository.client(session, client_id)
        if client is not None and self.ttl_s > 0:
            session.expunge(client)  # read-only from here on, shared between requests
            if len(self._entries) >= self.MAX_ENTRIES:
                self._entries.clear()
            self._entries[client_id] = (time.monotonic() + self.ttl_s, client)
        return client

    def forget(self, client_id: str) -> None:
        self._entries.pop(client_id, None)


async def authenticate(
    session: AsyncSession,
    creds: Credentials,
    cache: ClientCache | None = None,
    checker: assertions.AssertionChecker | None = None,
) -> OAuthClient:
    if cache is not None:
        client = await cache.get(session, creds.client_id)
    else:
        client = await repository.client(session, creds.client_id)
    basic = creds.method == "client_secret_basic"
    if client is None:
        # Same work as a real check, so a caller cannot time which client ids exist.
        hmac.compare_digest(secret_hash(creds.secret or ""), "0" * 64)
        raise InvalidClient(basic=basic)
    if client.auth_method != creds.method:
        raise InvalidClient(f"This client authenticates with {client.auth_method}.", basic=basic)
    if creds.method == "private_key_jwt":
        if checker is None or client.jwks is None:
            raise InvalidClient("private_key_jwt is not accepted here.")
        await checker.verify(client.client_id, client.jwks, creds.secret or "")
        return client
    if client.secret_hash is not None and not hmac.compare_digest(
        secret_hash(creds.secret or ""), client.secret_hash
    ):
        raise InvalidClient(basic=basic)
    return client
