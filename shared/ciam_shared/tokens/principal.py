"""Who is calling, as the services see it, and the errors of authentication.

The services only ever see a `Principal`; how a verified access token becomes one is here, in
one place, so every service reads the token contract the same way.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum

from ciam_shared.http.problems import DomainError
from ciam_shared.tokens.scopes import FIRST_PARTY_CLIENT


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

    @property
    def first_party(self) -> bool:
        """A customer token of the auth service's own pages: it may act on every purpose and
        brand of its customer (still only within its customer scopes)."""
        return self.kind is Kind.CUSTOMER and self.client_id == FIRST_PARTY_CLIENT

    @property
    def delegate(self) -> str | None:
        """The third-party app acting for a customer (its client id), held to that app's
        registration: its declared purposes, its brand, its existence."""
        if self.kind is Kind.CUSTOMER and not self.first_party:
            return self.client_id
        return None


def principal_of(token: AccessToken, *, admin_scope: str) -> Principal:
    """Who before which scopes. A client-credentials token (`sub` == `client_id`) is an app,
    or an admin when it carries the service's admin scope. Any other token is a customer
    (its `sub` must be an account id), whatever scopes it carries: a customer's token never
    reaches beyond that customer, even from an app registered with admin scopes."""
    if token.subject == token.client_id:
        if admin_scope in token.scopes:
            return Principal(Kind.ADMIN, token.subject, token.scopes, None, token.client_id)
        return Principal(Kind.APP, token.subject, token.scopes, token.brand, token.client_id)
    try:
        uuid.UUID(token.subject)
    except ValueError:
        raise NotAuthenticated("A customer token must name an account id.") from None
    return Principal(Kind.CUSTOMER, token.subject, token.scopes, None, token.client_id)
