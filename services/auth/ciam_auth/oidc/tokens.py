"""Issuing tokens: RFC 9068 access tokens, OIDC ID tokens, rotating refresh tokens."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError

from ciam_auth.oidc.acr import acr_of
from ciam_auth.oidc.keys import ALG, KeyRing

ACCESS_TYP = "at+jwt"
ID_TYP = "JWT"


@dataclass(frozen=True)
class Issued:
    access_token: str
    jti: str
    expires_in: int
    scope: str
    id_token: str | None = None
    refresh_token: str | None = None

    def response(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "scope": self.scope,
        }
        if self.id_token:
            body["id_token"] = self.id_token
        if self.refresh_token:
            body["refresh_token"] = self.refresh_token
        return body


class TokenIssuer:
    def __init__(
        self, ring: KeyRing, *, issuer: str, audience: str, access_ttl_s: int, id_ttl_s: int
    ) -> None:
        self.ring = ring
        self.issuer = issuer
        self.audience = audience
        self.access_ttl_s = access_ttl_s
        self.id_ttl_s = id_ttl_s

    def access_token(
        self,
        *,
        sub: str,
        client_id: str,
        scope: str,
        brand: str | None = None,
        auth_time: int | None = None,
        sid: str | None = None,
        family: uuid.UUID | None = None,
        ttl_s: int | None = None,
    ) -> tuple[str, str]:
        """A signed access token and its jti. A token of a user's grant names the grant's
        refresh token family in its jti, `<family hex>.<random>`, so revoking the family
        revokes the token with no per-token record (see GrantStore.access_token_revoked)."""
        now = int(time.time())
        jti = secrets.token_urlsafe(16)
        if family is not None:
            jti = f"{family.hex}.{jti}"
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": sub,
            "client_id": client_id,
            "iat": now,
            "exp": now + (self.access_ttl_s if ttl_s is None else ttl_s),
            "jti": jti,
            "scope": scope,
        }
        if brand:
            claims["brand"] = brand
        if auth_time is not None:
            claims["auth_time"] = auth_time
        if sid:
            claims["sid"] = sid
        return self.ring.sign(claims, typ=ACCESS_TYP), jti

    def id_token(
        self,
        *,
        sub: str,
        client_id: str,
        auth_time: int,
        nonce: str | None,
        amr: list[str],
        sid: str | None,
        access_token: str,
        extra: dict[str, Any],
    ) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": sub,
            "aud": client_id,
            "azp": client_id,
            "iat": now,
            "exp": now + self.id_ttl_s,
            "auth_time": auth_time,
            "amr": amr,
            "acr": acr_of(amr),
            "at_hash": at_hash(access_token),
        } | extra
        if nonce:
            claims["nonce"] = nonce
        if sid:
            claims["sid"] = sid
        return self.ring.sign(claims, typ=ID_TYP)

    def verify_own(self, token: str, *, typ: str, require_live: bool = True) -> dict[str, Any]:
        """Check a token this provider issued: signature, alg, typ, iss, and (unless told
        otherwise, as for an ID token hint) expiry. Raises ValueError when it does not pass."""
        try:
            decoded = jwt.decode(token, self.ring.public, algorithms=[ALG])
        except (JoseError, ValueError) as exc:
            raise ValueError("bad token") from exc
        if decoded.header.get("typ") != typ:
            raise ValueError("wrong token type")
        claims = dict(decoded.claims)
        if claims.get("iss") != self.issuer:
            raise ValueError("wrong issuer")
        exp = claims.get("exp")
        if not isinstance(exp, int) or (require_live and exp <= time.time()):
            raise ValueError("expired")
        return claims


def at_hash(access_token: str) -> str:
    digest = hashlib.sha256(access_token.encode()).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()
