"""ID token validation as a careful relying party (OIDC Core 3.1.3.7, RFC 8725).

A JOSE library's decode checks the signature and nothing else, so every claim is checked
here, one by one. A refusal names its reason (logged, never the token).
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
import time
from dataclasses import dataclass
from typing import Any, TypeGuard

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, RSAKey

from ciam_auth.social.upstream import Upstream

log = logging.getLogger(__name__)
LEEWAY_S = 60
# An ID token is used at once; one issued longer ago than this is a replay.
MAX_AGE_S = 600
KEY_TYPES = {"RS": "RSA", "PS": "RSA", "ES": "EC"}


class TokenRefused(Exception):
    """The ID token is not acceptable; the message is the reason (no token contents)."""


@dataclass(frozen=True)
class Identity:
    issuer: str
    subject: str
    claims: dict[str, Any]

    @property
    def email(self) -> str | None:
        email = self.claims.get("email")
        return email.strip().lower() if isinstance(email, str) and "@" in email else None

    @property
    def email_verified(self) -> bool:
        # Apple sends the string "true"; anything else (absent, false, "false") is unverified.
        return self.claims.get("email_verified") in (True, "true")


def _header(token: str) -> dict[str, Any]:
    try:
        segment = token.split(".")[0]
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, IndexError):
        raise TokenRefused("malformed header") from None
    if not isinstance(header, dict):
        raise TokenRefused("malformed header")
    return header


async def validate(token: str, upstream: Upstream, *, nonce: str) -> Identity:
    try:
        identity = await _validate(token, upstream, nonce=nonce)
    except TokenRefused as exc:
        log.warning("id token refused", extra={"provider": upstream.config.id, "reason": str(exc)})
        raise
    return identity


async def _validate(token: str, upstream: Upstream, *, nonce: str) -> Identity:
    config = upstream.config
    if token.count(".") != 2:
        raise TokenRefused("not a compact JWS")
    header = _header(token)
    alg = header.get("alg")
    # The allowlist comes from our configuration, never from the token: `none` and HS256
    # (with the provider's public key as an HMAC secret) are simply not in it.
    if not isinstance(alg, str) or alg not in config.algorithms:
        raise TokenRefused(f"algorithm not allowed: {alg!r}")
    if header.get("typ") not in (None, "JWT"):
        raise TokenRefused("typ is not JWT")
    if "crit" in header:
        raise TokenRefused("crit header not understood")
    key = await _key(upstream, header.get("kid"), alg)
    try:
        verified = jws.deserialize_compact(token, key, algorithms=[alg])
    except (JoseError, ValueError):
        raise TokenRefused("bad signature") from None
    try:
        claims = json.loads(verified.payload)
    except ValueError:
        raise TokenRefused("payload is not JSON") from None
    if not isinstance(claims, dict):
        raise TokenRefused("payload is not a JSON object")
    _check_claims(claims, issuer=upstream.config.issuer, client_id=config.client_id, nonce=nonce)
    return Identity(upstream.config.issuer, claims["sub"], claims)


async def _key(upstream: Upstream, kid: object, alg: str) -> ECKey | RSAKey:
    if kid is not None and not isinstance(kid, str):
        raise TokenRefused("kid is not a string")
    key = _pick(await upstream.key_set(), kid, alg)
    if key is None:  # maybe the provider rotated: fetch the JWKS again (rate-limited)
        key = _pick(await upstream.key_set(refresh=True), kid, alg)
    if key is None:
        raise TokenRefused("unknown kid" if kid else "no key fits")
    return key


def _pick(keys: KeySet, kid: str | None, alg: str) -> ECKey | RSAKey | None:
    # The key must fit the algorithm: an RSA key never verifies an ES256 token, etc.
    kty = KEY_TYPES[alg[:2]]
    fitting = [
        k
        for k in keys.keys
        if k.key_type == kty
        and (kid is None or k.kid == kid)
        and k.get("use", "sig") == "sig"
        and k.get("alg", alg) == alg
    ]
    # Without a kid the key must be unambiguous.
    if len(fitting) == 1 or (kid is not None and fitting):
        key = fitting[0]
        return key if isinstance(key, ECKey | RSAKey) else None
    return None


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
