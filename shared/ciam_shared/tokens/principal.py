"""Who is calling, as the services see it, and the errors of authentication.

The services only ever see a `Principal`; how a verified access token becomes one is here, in
one place, so every service reads the token contract the same way.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum

from ciam_shared.http.problems import DomainError


class NotAuthenticated(DomainError):
    status = 401
    type_slug = "not-authenticated"
    title = "Authentication required"

    def __init__(self, detail: str = "", *, invalid_token: bool = True) -> None:
        super().__init__(detail)
        # RFC 6750 section 3: a 401 names the scheme, and `invalid_token` when one was sent.
        challenge = 'Bearer error="invalid_token"' if invalid_token else "Bearer"
        self.headers = {"www-authenticate": challenge}


class Forbidden(DomainError):
    status = 403
    type_slug = "forbidden"
    title = "Not allowed"


class TokenVerificationUnavailable(DomainError):
    """The issuer's keys cannot be had: a fault on our side, not the caller's, so not a 401."""

    status = 503
    type_slug = "token-verification-unavailable"
    title = "Token verification unavailable"
    headers = {"retry-after": "5"}


class Kind(StrEnum):
    CUSTOMER = "customer"
    APP = "app"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class AccessToken:
    """The claims of a verified access token that the services use."""

    subject: str
    client_id: str
    scopes: frozenset[str]
    brand: str | None
    expires_at: int
    token_id: str


@dataclass(frozen=True)
class Principal:
    kind: Kind
    id: str
    scopes: frozenset[str]
    brand: str | None = None
    # The app the token was issued to (for a customer: the app they signed in with).
    client_id: str | None = None

    @property
    def app(self) -> str | None:
        return self.id if self.kind is Kind.APP else None


def principal_of(token: AccessToken, *, admin_scope: str) -> Principal:
    """Admin: the service's admin scope. App: `sub` == `client_id` (client credentials).
    Customer: any other token, whose `sub` must then be an account id."""
    if admin_scope in token.scopes:
        return Principal(Kind.ADMIN, token.subject, token.scopes, None, token.client_id)
    if token.subject == token.client_id:
        return Principal(Kind.APP, token.subject, token.scopes, token.brand, token.client_id)
    try:
        uuid.UUID(token.subject)
    except ValueError:
        raise NotAuthenticated("A customer token must name an account id.") from None
    return Principal(Kind.CUSTOMER, token.subject, token.scopes, None, token.client_id)
