"""The HTTP edge of authentication: `Authorization: Bearer` -> a verified `Principal`."""

from __future__ import annotations

from fastapi import Request

from ciam_shared.tokens.principal import (
    NotAuthenticated,
    Principal,
    TokenVerificationUnavailable,
    principal_of,
)
from ciam_shared.tokens.verifier import TokenVerifier


def bearer_token(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("Send `Authorization: Bearer <token>`.", invalid_token=False)
    return token.strip()


async def bearer_principal(request: Request, *, admin_scope: str) -> Principal:
    """Who calls, from the service runtime's verifier. A service wraps this in its own
    dependency with its admin scope (e.g. `consent:admin`)."""
    token = bearer_token(request)
    verifier: TokenVerifier | None = getattr(request.app.state.runtime, "verifier", None)
    if verifier is None:
        raise TokenVerificationUnavailable("No token issuer is configured for this service.")
    return principal_of(await verifier.verify(token), admin_scope=admin_scope)
