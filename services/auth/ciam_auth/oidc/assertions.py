"""`private_key_jwt` client authentication (OIDC Core section 9, RFC 7523 section 3).

The client registers public keys (a JWKS) instead of receiving a secret, and proves itself
with a short-lived JWT it signs: `iss` and `sub` are its client id, `aud` names this provider
(its issuer or the endpoint called), `exp` is near, and `jti` is used once. No shared secret
exists, so a leaked database or log reveals nothing that signs in as the app.
"""

from __future__ import annotations

import base64
import hashlib
import time
from typing import Any, cast

from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, KeySetSerialization, RSAKey
from redis.asyncio import Redis

from ciam_auth.adapters import jws_check
from ciam_auth.oidc.errors import InvalidClient

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALGORITHMS = ("ES256", "PS256", "RS256")
LEEWAY_S = 30
# An assertion is made for one request, but common clients sign theirs for an hour (Authlib's
# default; Okta's limit too): longer is refused, which also bounds how long a `jti` is kept.
MAX_LIFETIME_S = 3600
MAX_KEYS = 5
MIN_RSA_BITS = 2048
# Members that only a private (or symmetric) key has: such a key is never accepted.
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}
JTI_KEY = "oidc:assertion-jti:"


class InvalidJwks(ValueError):
    """The JWKS offered at registration is not acceptable; the message says why."""


def public_jwks(jwks: Any) -> dict[str, list[dict[str, Any]]]:
    """The registered key set, checked: 1 to 5 public signing keys (EC P-256 or RSA of at least
    2048 bits), each with a distinct `kid`. Returned as given, minus nothing: a key with a
    private member is refused rather than silently stripped (its owner leaked it)."""
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise InvalidJwks("jwks must be an object with a `keys` array.")
    keys = jwks["keys"]
    if not 1 <= len(keys) <= MAX_KEYS:
        raise InvalidJwks(f"jwks must hold 1 to {MAX_KEYS} keys.")
    kids: set[str] = set()
    for index, key in enumerate(keys):
        where = f"jwks.keys[{index}]"
        if not isinstance(key, dict):
            raise InvalidJwks(f"{where} is not an object.")
        if PRIVATE_MEMBERS & key.keys():
            raise InvalidJwks(f"{where} holds private key material: register the public key.")
        kid = key.get("kid")
        if not isinstance(kid, str) or not kid or kid in kids:
            raise InvalidJwks(f"{where} needs a `kid` of its own.")
        kids.add(kid)
        if key.get("use", "sig") != "sig":
            raise InvalidJwks(f"{where} is not a signing key.")
        if "alg" in key and key["alg"] not in ALGORITHMS:
            raise InvalidJwks(f"{where}: alg must be one of {', '.join(ALGORITHMS)}.")
        _check_public_key(key, where)
    return {"keys": [dict(k) for k in keys]}


def _check_public_key(key: dict[str, Any], where: str) -> None:
    if key.get("kty") == "EC":
        if key.get("crv") != "P-256":
            raise InvalidJwks(f"{where}: EC keys must be on P-256.")
        importer: type[ECKey | RSAKey] = ECKey
    elif key.get("kty") == "RSA":
        # Measured before importing: the library only warns about short keys.
        if _modulus_bits(key.get("n")) < MIN_RSA_BITS:
            raise InvalidJwks(f"{where}: RSA keys need at least {MIN_RSA_BITS} bits.")
        importer = RSAKey
    else:
        raise InvalidJwks(f"{where}: kty must be EC or RSA.")
    try:
        importer.import_key(key)
    except (JoseError, ValueError, TypeError):
        raise InvalidJwks(f"{where} is not a valid public key.") from None


def _modulus_bits(n: object) -> int:
    if not isinstance(n, str):
        return 0
    try:
        raw = base64.urlsafe_b64decode(n + "=" * (-len(n) % 4))
    except ValueError:
        return 0
    return int.from_bytes(raw, "big").bit_length()


class AssertionChecker:
    """Checks a client's assertion and remembers its `jti` until it expires (Redis, shared by
    every replica), so a captured assertion cannot be replayed."""

    def __init__(self, redis: Redis, audiences: frozenset[str]) -> None:
        self.redis = redis
        self.audiences = audiences

    async def verify(self, client_id: str, jwks: dict[str, Any], assertion: str) -> None:
        try:
            await self._verify(client_id, jwks, assertion)
        except jws_check.Refused as exc:
            # The reason goes to the client: it is about its own assertion, never a secret.
            raise InvalidClient(f"client_assertion refused: {exc}.") from None

    async def _verify(self, client_id: str, jwks: dict[str, Any], assertion: str) -> None:
        header, alg = jws_check.header_of(assertion, ALGORITHMS)
        if header.get("typ") not in (None, "JWT"):
            raise jws_check.Refused("typ is not JWT")
        key = jws_check.pick_key(
            KeySet.import_key_set(cast(KeySetSerialization, jwks)).keys, header.get("kid"), alg
        )
        if key is None:
            raise jws_check.Refused("no registered key fits")
        claims = jws_check.verified_claims(assertion, key, alg)
        exp = self._check_claims(claims, client_id)
        # SET NX: the first use of this jti wins, a replay finds it taken.
        digest = hashlib.sha256(f"{client_id}\x00{claims['jti']}".encode()).hexdigest()
        ttl = max(1, int(exp - time.time()) + LEEWAY_S)
        if not await self.redis.set(JTI_KEY + digest, b"1", nx=True, ex=ttl):
            raise jws_check.Refused("jti already used")

    def _check_claims(self, claims: dict[str, Any], client_id: str) -> float:
        now = time.time()
        if claims.get("iss") != client_id or claims.get("sub") != client_id:
            raise jws_check.Refused("iss and sub must be the client id")
        aud = claims.get("aud")
        audiences = [aud] if isinstance(aud, str) else aud
        if not isinstance(audiences, list) or not self.audiences.intersection(
            a for a in audiences if isinstance(a, str)
        ):
            raise jws_check.Refused("aud does not name this provider")
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or isinstance(exp, bool):
            raise jws_check.Refused("exp missing")
        if exp <= now - LEEWAY_S:
            raise jws_check.Refused("expired")
        if exp > now + MAX_LIFETIME_S + LEEWAY_S:
            raise jws_check.Refused(f"lives longer than {MAX_LIFETIME_S} s")
        for name in ("iat", "nbf"):
            value = claims.get(name)
            if value is not None and (not isinstance(value, int | float) or value > now + LEEWAY_S):
                raise jws_check.Refused(f"{name} in the future")
        jti = claims.get("jti")
        if not isinstance(jti, str) or not 1 <= len(jti) <= 256:
            raise jws_check.Refused("jti missing")
        return float(exp)
