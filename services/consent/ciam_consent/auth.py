"""Who is calling. INTERIM: until the auth service issues tokens (issue #4), bearer tokens are
HS256 JWTs signed with CONSENT_INTERIM_TOKEN_SECRET; issue #4 replaces `verify_token` with the
shared JWKS verifier. Every endpoint that touches a subject goes through `authorize_subject`.

Claims: `sub` (a subject UUID for a customer, a client id for an app), `scope` (space
separated: `consent:read`, `consent:write`, `consent:admin`), `client_id` and `brand` for apps.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from fastapi import Depends, Request
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

from ciam_consent.errors import Forbidden, NotAuthenticated

ISSUER = "ciam-interim"
AUDIENCE = "ciam-consent"
READ, WRITE, ADMIN = "consent:read", "consent:write", "consent:admin"


class Kind(StrEnum):
    CUSTOMER = "customer"
    APP = "app"
    ADMIN = "admin"


@dataclass(frozen=True)
class Principal:
    kind: Kind
    id: str
    scopes: frozenset[str]
    brand: str | None = None

    @property
    def app(self) -> str | None:
        return self.id if self.kind is Kind.APP else None


def issue_token(
    secret: str,
    *,
    sub: str,
    scopes: tuple[str, ...] = (),
    client_id: str | None = None,
    brand: str | None = None,
    ttl: int = 300,
) -> str:
    """Mint an interim token (tests, local tools). Short-lived by default."""
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": sub,
        "iat": now,
        "exp": now + ttl,
        "scope": " ".join(scopes),
    }
    if client_id:
        claims["client_id"] = client_id
    if brand:
        claims["brand"] = brand
    return jwt.encode({"alg": "HS256", "typ": "at+jwt"}, claims, OctKey.import_key(secret))


def verify_token(secret: str, token: str) -> Principal:
    try:
        decoded = jwt.decode(token, OctKey.import_key(secret), algorithms=["HS256"])
    except (JoseError, ValueError) as exc:
        raise NotAuthenticated("The bearer token is not valid.") from exc
    claims = decoded.claims
    now = time.time()
    if claims.get("iss") != ISSUER or claims.get("aud") != AUDIENCE:
        raise NotAuthenticated("The bearer token is not for this service.")
    if not isinstance(claims.get("exp"), int) or claims["exp"] < now:
        raise NotAuthenticated("The bearer token has expired.")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise NotAuthenticated("The bearer token names no subject.")
    scopes = frozenset(str(claims.get("scope", "")).split())
    if ADMIN in scopes:
        return Principal(Kind.ADMIN, sub, scopes)
    if claims.get("client_id") == sub:
        brand = claims.get("brand")
        return Principal(Kind.APP, sub, scopes, brand if isinstance(brand, str) else None)
    try:
        uuid.UUID(sub)
    except ValueError:
        raise NotAuthenticated("A customer token must name a subject id.") from None
    return Principal(Kind.CUSTOMER, sub, scopes | {READ, WRITE})


def current_principal(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise NotAuthenticated("Send `Authorization: Bearer <token>`.")
    secret: str = request.app.state.runtime.extras["interim_token_secret"]
    return verify_token(secret, token.strip())


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def authorize_subject(principal: Principal, subject_id: uuid.UUID, *, scope: str) -> None:
    """A customer acts on their own consents only; apps and admins need the scope."""
    if principal.kind is Kind.CUSTOMER:
        if principal.id != str(subject_id):
            raise Forbidden("A customer may only see and change their own consents.")
        return
    if scope not in principal.scopes and ADMIN not in principal.scopes:
        raise Forbidden(f"This needs the `{scope}` scope.")


def authorize_brand(principal: Principal, brand: str | None) -> None:
    """An app bound to a brand writes records of its own brand only."""
    if principal.kind is Kind.APP and principal.brand is not None and brand != principal.brand:
        raise Forbidden(f"This app may only record consents for brand `{principal.brand}`.")


def require_admin(principal: Principal) -> None:
    if ADMIN not in principal.scopes:
        raise Forbidden("This needs the `consent:admin` scope.")
