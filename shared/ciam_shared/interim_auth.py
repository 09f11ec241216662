"""Who is calling. INTERIM: until the auth service issues tokens (issue #4), bearer tokens are
HS256 JWTs signed with a secret the services share (`<PREFIX>INTERIM_TOKEN_SECRET`). Issue #4
replaces `verify_token` with the JWKS verifier; the services only see a `Principal`.

Claims: `sub` (a subject UUID for a customer, a client id for an app), `scope` (space
separated), `client_id` and `brand` for apps; `iss` and `aud` fixed below; `exp` required.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from enum import StrEnum

from fastapi import Request
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

from ciam_shared.http.problems import DomainError

ISSUER = "ciam-interim"
AUDIENCE = "ciam"
SECRET_EXTRA = "interim_token_secret"  # noqa: S105 - a dict key, not a secret


class NotAuthenticated(DomainError):
    status = 401
    type_slug = "not-authenticated"
    title = "Authentication required"


class Forbidden(DomainError):
    status = 403
    type_slug = "forbidden"
    title = "Not allowed"


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


def verify_token(secret: str, token: str, *, admin_scope: str) -> Principal:
    try:
        decoded = jwt.decode(token, OctKey.import_key(secret), algorithms=["HS256"])
    except (JoseError, ValueError) as exc:
        raise NotAuthenticated("The bearer token is not valid.") from exc
    claims = decoded.claims
    if claims.get("iss") != ISSUER or claims.get("aud") != AUDIENCE:
        raise NotAuthenticated("The bearer token is not for this service.")
    if not isinstance(claims.get("exp"), int) or claims["exp"] < time.time():
        raise NotAuthenticated("The bearer token has expired.")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise NotAuthenticated("The bearer token names no subject.")
    scopes = frozenset(str(claims.get("scope", "")).split())
    if admin_scope in scopes:
        return Principal(Kind.ADMIN, sub, scopes)
    if claims.get("client_id") == sub:
        brand = claims.get("brand")
        return Principal(Kind.APP, sub, scopes, brand if isinstance(brand, str) else None)
    try:
        uuid.UUID(sub)
    except ValueError:
        raise NotAuthenticated("A customer token must name a subject id.") from None
    return Principal(Kind.CUSTOMER, sub, scopes)


def bearer_principal(request: Request, *, admin_scope: str) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise NotAuthenticated("Send `Authorization: Bearer <token>`.")
    secret: str = request.app.state.runtime.extras[SECRET_EXTRA]
    return verify_token(secret, token.strip(), admin_scope=admin_scope)


def main(argv: list[str] | None = None) -> int:
    """`python -m ciam_shared.interim_auth --sub <id> [...]`: mint a token for local use."""
    import argparse
    from pathlib import Path

    parser = argparse.ArgumentParser(description="Mint an interim bearer token (development).")
    parser.add_argument("--sub", required=True, help="a subject UUID, or an app's client id")
    parser.add_argument("--client-id", help="for an app: the same as --sub")
    parser.add_argument("--brand")
    parser.add_argument("--scope", action="append", default=[], help="repeat for several")
    parser.add_argument("--ttl", type=int, default=3600)
    parser.add_argument("--secret-file", default="var/interim-token-secret")
    args = parser.parse_args(argv)
    secret = Path(args.secret_file).read_text().strip()
    print(
        issue_token(
            secret,
            sub=args.sub,
            scopes=tuple(args.scope),
            client_id=args.client_id,
            brand=args.brand,
            ttl=args.ttl,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
