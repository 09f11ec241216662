"""The provider's wiring: one object per process, built by `create_app` and carried in the
runtime's parts (`ciam_auth.parts.AuthParts.provider`)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncEngine

from ciam_auth.adapters.sealing import DEVELOPMENT_KEK, KeyEncryption
from ciam_auth.oidc.assertions import AssertionChecker
from ciam_auth.oidc.grants import GrantStore
from ciam_auth.oidc.keys import KeyRing
from ciam_auth.oidc.repository.tokens import revoke_for_sessions
from ciam_auth.oidc.service.clients import ClientCache, breaking_the_model
from ciam_auth.oidc.tokens import ACCESS_TYP, TokenIssuer
from ciam_auth.settings import AuthSettings
from ciam_shared.service import ServiceRuntime

log = logging.getLogger(__name__)


@dataclass
class Provider:
    runtime: ServiceRuntime[Any]
    settings: AuthSettings
    ring: KeyRing
    issuer: TokenIssuer
    grants: GrantStore
    clients: ClientCache
    assertions: AssertionChecker
    csrf_key: bytes
    # The runtime's pool, each statement committed on its own: for one-statement writes such
    # as a refresh token's rotation (no BEGIN and COMMIT round trips).
    autocommit: AsyncEngine

    @classmethod
    def build(cls, runtime: ServiceRuntime[Any], sealing: KeyEncryption) -> Provider:
        """Connects to nothing: `start_provider` loads the keys."""
        settings = runtime.settings
        assert isinstance(settings, AuthSettings)
        ring = KeyRing(sealing, timedelta(seconds=settings.key_overlap_s))
        issuer = TokenIssuer(
            ring,
            issuer=settings.issuer_url,
            audience=settings.token_audience,
            access_ttl_s=settings.access_token_ttl_s,
            id_ttl_s=settings.id_token_ttl_s,
        )
        grants = GrantStore(runtime.redis, code_ttl_s=settings.authorization_code_ttl_s)
        # Forms of the provider's pages carry an HMAC of the session id under this key; the
        # session id alone is not secret (it is the `sid` of ID tokens).
        # Empty only in development (settings and sealing refuse it elsewhere).
        kek = settings.key_encryption_secret.get_secret_value() or DEVELOPMENT_KEK
        csrf_key = hashlib.sha256(b"ciam-oidc-csrf:" + kek.encode()).digest()
        # A client assertion's `aud` may be the issuer or the endpoint it is sent to.
        base = settings.issuer_url.rstrip("/")
        audiences = frozenset({base, *(f"{base}/{e}" for e in ("token", "introspect", "revoke"))})
        return cls(
            runtime,
            settings,
            ring,
            issuer,
            grants,
            ClientCache(settings.client_cache_s),
            AssertionChecker(runtime.redis, audiences),
            csrf_key,
            runtime.engine.execution_options(isolation_level="AUTOCOMMIT"),
        )

    async def bearer_claims(self, request: Request) -> dict[str, Any]:
        """The claims of the request's bearer token if it is a live access token of this
        provider (signature, typ, iss, expiry, not revoked); ValueError otherwise, with why."""
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not value:
            raise ValueError("no bearer token")
        claims = self.issuer.verify_own(value.strip(), typ=ACCESS_TYP)
        if await self.grants.access_token_revoked(str(claims.get("jti"))):
            raise ValueError("revoked")
        return claims

    def csrf_token(self, session_id: str, purpose: str) -> str:
        message = f"{purpose}:{session_id}".encode()
        return hmac.new(self.csrf_key, message, hashlib.sha256).hexdigest()

    async def reload_keys(self) -> None:
        async with self.runtime.sessions() as session, session.begin():
            await self.ring.load(session)

    async def refresh_keys_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.cache_refresh_s)
            with contextlib.suppress(Exception):
                await self.reload_keys()

    async def on_sessions_revoked(
        self, account_id: uuid.UUID, session_ids: list[str] | None
    ) -> None:
        """Ending a session (logout, password change) revokes its refresh tokens and the
        access tokens issued with them."""
        async with self.runtime.sessions() as session, session.begin():
            families = await revoke_for_sessions(session, account_id, session_ids)
        for family in families:
            await self.grants.revoke_family(family, self.settings.refresh_token_ttl_s)


async def start_provider(runtime: ServiceRuntime[Any], provider: Provider) -> None:
    await provider.reload_keys()
    async with runtime.sessions() as session:
        for client_id in await breaking_the_model(session):
            # Harmless (every grant checks the rule), but the operator should know.
            log.warning(
                "client %s holds an admin scope and a redirect URI or the code grant: it gets "
                "no admin scope until it is split into an operator client and an app",
                client_id,
            )
    runtime.spawn("oidc-key-refresh", provider.refresh_keys_forever())
