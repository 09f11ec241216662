"""ID token validation as a careful relying party (OIDC Core 3.1.3.7, RFC 8725).

A JOSE library's decode checks the signature and nothing else, so every claim is checked
here, one by one. A refusal names its reason (logged, never the token).
"""

from __future__ import annotations

import hmac
import logging
import time
from dataclasses import dataclass
from typing import Any, TypeGuard

from ciam_auth.adapters import jws_check
from ciam_auth.social.upstream import Upstream

log = logging.getLogger(__name__)
LEEWAY_S = 60
# An ID token is used at once; one issued longer ago than this is a replay.
MAX_AGE_S = 600


class TokenRefused(Exception):
    """The ID token is not acceptable; the message is the reason (no token contents)."""


@dataclass(frozen=True)
class Identity:
    issuer: str
    subject: str
    claims: dict[str, Any]
    # Apple sends `email_verified` as the string "true" (its preset sets this). OIDC Core 5.1
    # defines a JSON boolean: from any other provider a string is not a verification.
    verified_as_string: bool = False

    @property
    def email(self) -> str | None:
        email = self.claims.get("email")
        return email.strip().lower() if isinstance(email, str) and "@" in email else None

    @property
    def email_verified(self) -> bool:
        verified = self.claims.get("email_verified")
        # `is True`: 1 == True in Python, and a number is not a JSON boolean either.
        return verified is True or (self.verified_as_string and verified == "true")


async def validate(token: str, upstream: Upstream, *, nonce: str) -> Identity:
    try:
        identity = await _validate(token, upstream, nonce=nonce)
    except TokenRefused as exc:
        log.warning("id token refused", extra={"provider": upstream.config.id, "reason": str(exc)})
        raise
    return identity


async def _validate(token: str, upstream: Upstream, *, nonce: str) -> Identity:
    config = upstream.config
    try:
        header, alg = jws_check.header_of(token, config.algorithms)
    except jws_check.Refused as exc:
        raise TokenRefused(str(exc)) from None
    if header.get("typ") not in (None, "JWT"):
        raise TokenRefused("typ is not JWT")
    key = await _key(upstream, header.get("kid"), alg)
    try:
        claims = jws_check.verified_claims(token, key, alg)
    except jws_check.Refused as exc:
        raise TokenRefused(str(exc)) from None
    _check_claims(claims, issuer=upstream.config.issuer, client_id=config.client_id, nonce=nonce)
    apple = config.preset == "apple"
    return Identity(upstream.config.issuer, claims["sub"], claims, verified_as_string=apple)


async def _key(upstream: Upstream, kid: str | None, alg: str) -> jws_check.PublicKey:
    key = jws_check.pick_key((await upstream.key_set()).keys, kid, alg)
    if key is None:  # maybe the provider rotated: fetch the JWKS again (rate-limited)
        key = jws_check.pick_key((await upstream.key_set(refresh=True)).keys, kid, alg)
    if key is None:
        raise TokenRefused("unknown kid" if kid else "no key fits")
    return key


def _number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_claims(claims: dict[str, Any], *, issuer: str, client_id: str, nonce: str) -> None:
    now = time.time()
    if claims.get("iss") != issuer:
        raise TokenRefused("wrong iss")
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud
    if not isinstance(audiences, list) or client_id not in audiences:
        raise TokenRefused("wrong aud")
    if not all(isinstance(a, str) for a in audiences):
        raise TokenRefused("malformed aud")
    azp = claims.get("azp")
    if len(audiences) > 1 and azp is None:
        raise TokenRefused("several audiences and no azp")
    if azp is not None and azp != client_id:
        raise TokenRefused("wrong azp")
    exp, iat = claims.get("exp"), claims.get("iat")
    if not _number(exp):
        raise TokenRefused("exp missing")
    if exp <= now - LEEWAY_S:
        raise TokenRefused("expired")
    if not _number(iat):
        raise TokenRefused("iat missing")
    if iat > now + LEEWAY_S:
        raise TokenRefused("iat in the future")
    if iat < now - MAX_AGE_S:
        raise TokenRefused("iat too old")
    nbf = claims.get("nbf")
    if nbf is not None and (not _number(nbf) or nbf > now + LEEWAY_S):
        raise TokenRefused("not yet valid (nbf)")
    if "nonce" not in claims:
        raise TokenRefused("nonce missing")
    if not isinstance(claims["nonce"], str) or not hmac.compare_digest(claims["nonce"], nonce):
        raise TokenRefused("wrong nonce")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub or len(sub) > 255:
        raise TokenRefused("sub missing")
