"""Who may call auth's own protected APIs (the admin API, the contacts API): the principal
first, then the scope (docs/security.md).

Both APIs are for a client acting for itself: a client-credentials token (`sub` ==
`client_id`) of a client that still exists and still holds the scope; the admin API for an
operator client only. A customer's token is refused whatever scopes it carries: one issued
before admin scopes were refused in the authorization code grant may carry `auth:admin`.
"""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from ciam_auth.models import OAuthClient
from ciam_auth.oidc import policy
from ciam_auth.oidc.provider import Provider
from ciam_auth.oidc.service import clients
from ciam_auth.oidc.service.flows import client_alive
from ciam_shared.http.problems import DomainError


class NotAuthenticated(DomainError):
    status = 401
    type_slug = "not-authenticated"
    title = "Authentication required"
    headers = {"www-authenticate": "Bearer"}


class Forbidden(DomainError):
    status = 403
    type_slug = "forbidden"
    title = "Not allowed"


async def calling_client(
    request: Request, provider: Provider, db: AsyncSession, scope: str, *, operator: bool = False
) -> OAuthClient:
    """The client calling for itself with `scope`; NotAuthenticated or Forbidden otherwise."""
    if "authorization" not in request.headers:
        raise NotAuthenticated("Send `Authorization: Bearer <token>`.")
    try:
        claims = await provider.bearer_claims(request)
    except ValueError as exc:
        raise NotAuthenticated(f"The bearer token is not valid ({exc}).") from None
    if claims.get("sub") != claims.get("client_id"):
        raise Forbidden(
            "This API is for a client acting for itself (client credentials): a token issued "
            "for a customer is refused, whatever its scopes."
        )
    if scope not in str(claims.get("scope", "")).split():
        raise Forbidden(f"This needs the `{scope}` scope.")
    client = await clients.find(db, str(claims["client_id"]))
    if client is None or not await client_alive(db, claims):
        raise NotAuthenticated("The client this token was issued to no longer exists.")
    if scope not in client.scopes:
        raise Forbidden(f"The client no longer holds the `{scope}` scope.")
    if operator and not policy.is_operator(client):
        raise Forbidden(
            "Only an operator client (an admin scope, no redirect URI, no authorization code "
            "grant) may use this API."
        )
    return client
