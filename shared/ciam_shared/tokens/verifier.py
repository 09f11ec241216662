"""Verifying the auth service's access tokens (RFC 9068 JWTs) locally, against its JWKS.

A JOSE library's decode checks a signature and nothing else, so every rule is explicit here:
the header's `alg` must be on our allowlist and fit the key, `typ` must be `at+jwt` (an ID
token is `JWT` and is refused), `crit` is refused; `iss` must be ours exactly, our audience
must be in `aud`, `exp` must be ahead and `nbf`/`iat` not ahead (give or take `leeway_s`),
`sub`, `client_id` and `jti` must be present.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, TypeGuard

import httpx
from joserfc import jws
from joserfc.errors import JoseError

from ciam_shared.tokens.header import Defect, HeaderRefused, jose_header
from ciam_shared.tokens.jwks import KEY_TYPES, KeyStore, VerificationKey
from ciam_shared.tokens.principal import AccessToken, NotAuthenticated

ACCESS_TOKEN_TYPES = frozenset({"at+jwt", "application/at+jwt"})
MAX_TOKEN_BYTES = 8 * 1024
# Signature verdicts kept (see TokenVerifier._check): a client sends its token with every
# request, and the ECDSA verification was the largest part of a consent change's
# authentication (bench/README.md).
VERIFIED_CACHE_SIZE = 4096
JWKS_PATH = "/.well-known/jwks.json"


class KeysNotCached(LookupError):
    """`verify_cached` needs the token's key in a fresh cache; `verify` fetches it."""


@dataclass(frozen=True, slots=True)
class _Parsed:
    token: str
    alg: str
    kid: str


_REFUSALS: dict[Defect, str] = {
    "malformed": "The bearer token is not a well-formed JWT.",
    "algorithm": "The bearer token's algorithm is not accepted.",
    "type": "The bearer token is not an access token (typ at+jwt).",
    "crit": "The bearer token needs extensions this service lacks.",
    "kid": "The bearer token names no signing key (kid).",
}


def _number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


class TokenVerifier:
    def __init__(
        self,
        issuer: str,
        audience: str = "ciam",
        *,
        jwks_url: str | None = None,
        algorithms: Collection[str] = ("ES256",),
        leeway_s: float = 30.0,
        jwks_ttl_s: float = 300.0,
        jwks_cooldown_s: float = 10.0,
        jwks_stale_grace_s: float = 3600.0,
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not issuer or not audience:
            raise ValueError("a token verifier needs an issuer and an audience")
        unknown = set(algorithms) - set(KEY_TYPES)
        if unknown or not algorithms:
            # Never `none`, never an HMAC: a shared secret has no place between services.
            raise ValueError(f"unsupported token algorithms: {sorted(unknown) or 'none given'}")
        self.issuer, self.audience, self.leeway_s = issuer, audience, leeway_s
        self.algorithms = tuple(algorithms)
        self._registry = jws.JWSRegistry(algorithms=list(self.algorithms))
        self._clock = clock
        self._own_http = http is None
        self._http = http or httpx.AsyncClient(timeout=3.0, follow_redirects=False)
        # (token, alg) -> (the key that verified its signature, its claims)
        self._verified: dict[tuple[str, str], tuple[VerificationKey, dict[str, Any]]] = {}
        self.keys = KeyStore(
            jwks_url or issuer.rstrip("/") + JWKS_PATH,
            self.algorithms,
            http=self._http,
            ttl_s=jwks_ttl_s,
            cooldown_s=jwks_cooldown_s,
            stale_grace_s=jwks_stale_grace_s,
        )

    async def aclose(self) -> None:
        if self._own_http:
            await self._http.aclose()

    async def verify(self, token: str) -> AccessToken:
        """Verify a bearer token, fetching the issuer's keys when needed. Raises NotAuthenticated
        (401) for a bad token and TokenVerificationUnavailable (503) when keys cannot be had."""
        parsed = self._parse(token)
        key = self.keys.cached(parsed.kid) or await self.keys.key(parsed.kid)
        return self._check(parsed, key)

    def verify_cached(self, token: str) -> AccessToken:
        """The same checks without I/O, for when the key set is cached (after one `verify`).
        Raises KeysNotCached when the token's key is unknown or the cache is past its TTL."""
        parsed = self._parse(token)
        key = self.keys.cached(parsed.kid)
        if key is None:
            raise KeysNotCached(parsed.kid)
        return self._check(parsed, key)

    def _parse(self, token: str) -> _Parsed:
        if not token or len(token) > MAX_TOKEN_BYTES:
            raise NotAuthenticated("The bearer token is empty or too long.")
        try:
            header = jose_header(token, self.algorithms, types=ACCESS_TOKEN_TYPES, require_kid=True)
        except HeaderRefused as exc:
            raise NotAuthenticated(_REFUSALS[exc.defect]) from None
        return _Parsed(token, header.alg, header.kid or "")

    def _check(self, parsed: _Parsed, key: VerificationKey) -> AccessToken:
        if not key.fits(parsed.alg):
            raise NotAuthenticated("The bearer token's algorithm does not fit its key.")
        # Only the signature's verdict is kept, and only for the very key the key set holds
        # now (a retired or replaced key verifies nothing again); the claims (expiry, issuer,
        # audience) are checked on every call.
        hit = self._verified.get((parsed.token, parsed.alg))
        if hit is not None and hit[0] is key:
            return self._claims(hit[1])
        claims = self._signed_claims(parsed, key)
        access = self._claims(claims)
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            del self._verified[next(iter(self._verified))]  # the oldest
        self._verified[(parsed.token, parsed.alg)] = (key, claims)
        return access

    def _signed_claims(self, parsed: _Parsed, key: VerificationKey) -> dict[str, Any]:
        try:
            verified = jws.deserialize_compact(
                parsed.token, key.key, algorithms=[parsed.alg], registry=self._registry
            )
        except (JoseError, ValueError, TypeError):
            raise NotAuthenticated("The bearer token's signature is not valid.") from None
        try:
            claims = json.loads(verified.payload)
        except ValueError:
            raise NotAuthenticated("The bearer token's claims are not JSON.") from None
        if not isinstance(claims, dict):
            raise NotAuthenticated("The bearer token's claims are not an object.")
        return claims

    def _claims(self, claims: dict[str, Any]) -> AccessToken:
        if claims.get("iss") != self.issuer:
            raise NotAuthenticated("The bearer token is from another issuer.")
        aud = claims.get("aud")
        audiences = [aud] if isinstance(aud, str) else aud
        if not isinstance(audiences, list) or self.audience not in audiences:
            raise NotAuthenticated("The bearer token is not for this service (aud).")
        now = self._clock()
        exp, nbf, iat = claims.get("exp"), claims.get("nbf"), claims.get("iat")
        if not _number(exp) or not _number(iat):
            raise NotAuthenticated("The bearer token lacks exp or iat.")
        if exp <= now - self.leeway_s:
            raise NotAuthenticated("The bearer token has expired.")
        if nbf is not None and not _number(nbf):
            raise NotAuthenticated("The bearer token's nbf is malformed.")
        if iat > now + self.leeway_s or (nbf is not None and nbf > now + self.leeway_s):
            raise NotAuthenticated("The bearer token is not valid yet.")
        sub, client_id, jti = claims.get("sub"), claims.get("client_id"), claims.get("jti")
        if not isinstance(sub, str) or not sub:
            raise NotAuthenticated("The bearer token names no subject.")
        if not isinstance(client_id, str) or not client_id:
            raise NotAuthenticated("The bearer token names no client.")
        if not isinstance(jti, str) or not jti:
            raise NotAuthenticated("The bearer token has no id (jti).")
        scope, brand = claims.get("scope", ""), claims.get("brand")
        if not isinstance(scope, str) or (brand is not None and not isinstance(brand, str)):
            raise NotAuthenticated("The bearer token's scope or brand is malformed.")
        return AccessToken(sub, client_id, frozenset(scope.split()), brand, int(exp), jti)
