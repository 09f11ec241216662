"""The issuer's public keys (JWKS), fetched over HTTP and cached.

A key set is kept for `ttl_s`; an unknown `kid` refetches it at most once per `cooldown_s`
(a rotation is picked up at once, a flood of made-up kids costs one fetch per cool-down); a
failed fetch is not retried before `cooldown_s` either, and while the issuer cannot be reached
the keys already known stay usable for `stale_grace_s` past their TTL, so a short outage of the
auth service does not take every API down with it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, OKPKey, RSAKey

from ciam_shared.tokens.principal import NotAuthenticated, TokenVerificationUnavailable

log = logging.getLogger(__name__)

MAX_JWKS_BYTES = 64 * 1024
# The key type (and curve) each allowed algorithm must be verified with: the header's `alg`
# never chooses how a key is used beyond this table.
KEY_TYPES: Mapping[str, tuple[str, str | None]] = {
    "ES256": ("EC", "P-256"),
    "ES384": ("EC", "P-384"),
    "RS256": ("RSA", None),
    "PS256": ("RSA", None),
    "EdDSA": ("OKP", "Ed25519"),
}
_PUBLIC_MEMBERS = {
    "EC": ("kty", "crv", "x", "y"),
    "RSA": ("kty", "n", "e"),
    "OKP": ("kty", "crv", "x"),
}
_KEY_CLASSES: Mapping[str, Any] = {"EC": ECKey, "RSA": RSAKey, "OKP": OKPKey}

PublicKey = ECKey | RSAKey | OKPKey


class JwksUnavailable(Exception):
    """The key set could not be fetched or held no usable key."""


@dataclass(frozen=True, slots=True)
class VerificationKey:
    key: PublicKey
    kty: str
    crv: str | None
    alg: str | None  # when the JWKS pins the key to one algorithm

    def fits(self, alg: str) -> bool:
        kty, crv = KEY_TYPES[alg]
        return self.kty == kty and self.crv == crv and self.alg in (None, alg)


def parse_jwks(document: Any, algorithms: Collection[str]) -> dict[str, VerificationKey]:
    """The signing keys of a JWKS document that fit an allowed algorithm, by kid. Only the
    public members are imported; keys without a kid, for encryption, or of other types are
    skipped."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise JwksUnavailable("the JWKS document has no `keys` list")
    wanted = {KEY_TYPES[alg] for alg in algorithms}
    keys: dict[str, VerificationKey] = {}
    for entry in document["keys"]:
        if not isinstance(entry, dict):
            continue
        kid, kty, crv, alg = (entry.get(m) for m in ("kid", "kty", "crv", "alg"))
        if not isinstance(kid, str) or not kid or entry.get("use", "sig") != "sig":
            continue
        if not isinstance(kty, str) or kty not in _PUBLIC_MEMBERS:
            continue
        crv = crv if kty != "RSA" else None
        if (kty, crv) not in wanted or (alg is not None and alg not in algorithms):
            continue
        members = {m: entry[m] for m in _PUBLIC_MEMBERS[kty] if m in entry}
        try:
            key = _KEY_CLASSES[kty].import_key(members)
        except (JoseError, ValueError, TypeError) as exc:
            log.warning("skipping a malformed JWKS key", extra={"kid": kid, "error": repr(exc)})
            continue
        keys[kid] = VerificationKey(key, kty, crv, alg)
    if not keys:
        raise JwksUnavailable("the JWKS holds no usable signing key")
    return keys


class KeyStore:
    def __init__(
        self,
        url: str,
        algorithms: Collection[str],
        *,
        http: httpx.AsyncClient,
        ttl_s: float = 300.0,
        cooldown_s: float = 10.0,
        stale_grace_s: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.algorithms = tuple(algorithms)
        self.http = http
        self.ttl_s, self.cooldown_s, self.stale_grace_s = ttl_s, cooldown_s, stale_grace_s
        self.clock = clock
        self.fetches = 0  # successful or not; tests and metrics read it
        self._keys: dict[str, VerificationKey] = {}
        self._loaded_at: float | None = None
        self._failed_at: float | None = None
        self._unknown_refetch_at: float | None = None
        self._lock = asyncio.Lock()

    def cached(self, kid: str) -> VerificationKey | None:
        """The key if it is known and the set is within its TTL; no I/O."""
        if self._loaded_at is None or self.clock() - self._loaded_at >= self.ttl_s:
            return None
        return self._keys.get(kid)

    async def key(self, kid: str) -> VerificationKey:
        if (found := self.cached(kid)) is not None:
            return found
        async with self._lock:  # one fetch at a time; waiters see its result
            now = self.clock()
            if (found := self.cached(kid)) is not None:
                return found  # fetched while this request waited
            if self._should_fetch(kid, now):
                try:
                    await self._fetch()
                except JwksUnavailable as exc:
                    self._failed_at = now
                    log.warning("cannot fetch the JWKS", extra={"url": self.url, "error": str(exc)})
                else:
                    if (found := self._keys.get(kid)) is None:
                        raise NotAuthenticated("The bearer token is signed with an unknown key.")
                    return found
            return self._after_attempt(kid)

    def _should_fetch(self, kid: str, now: float) -> bool:
        if self._failed_at is not None and now - self._failed_at < self.cooldown_s:
            return False
        if self._loaded_at is None or now - self._loaded_at >= self.ttl_s:
            return True
        if kid in self._keys:
            return False
        last = self._unknown_refetch_at
        if last is not None and now - last < self.cooldown_s:
            return False
        self._unknown_refetch_at = now
        return True

    def _after_attempt(self, kid: str) -> VerificationKey:
        """No fresh key set to answer from: a known key within its grace period, else why not."""
        found = self._keys.get(kid)
        unavailable = TokenVerificationUnavailable("The token issuer's keys cannot be fetched.")
        if self._loaded_at is None:
            raise unavailable
        if found is not None:
            if self.clock() - self._loaded_at < self.ttl_s + self.stale_grace_s:
                return found
            raise unavailable  # too old to trust while the issuer is out of reach
        if self._failed_at is not None:
            raise unavailable  # perhaps a new key we could not load: not the caller's fault
        raise NotAuthenticated("The bearer token is signed with an unknown key.")

    async def _fetch(self) -> None:
        self.fetches += 1
        try:
            response = await self.http.get(self.url, headers={"accept": "application/json"})
        except httpx.HTTPError as exc:
            raise JwksUnavailable(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code != 200:
            raise JwksUnavailable(f"HTTP {response.status_code}")
        if len(response.content) > MAX_JWKS_BYTES:
            raise JwksUnavailable("the JWKS document is too large")
        try:
            document = response.json()
        except ValueError as exc:
            raise JwksUnavailable("the JWKS document is not JSON") from exc
        self._keys = parse_jwks(document, self.algorithms)
        self._loaded_at = self.clock()
        self._failed_at = None
        log.info("JWKS loaded", extra={"url": self.url, "kids": sorted(self._keys)})
