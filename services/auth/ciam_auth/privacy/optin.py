"""Double opt-in links for email and SMS marketing: signed, single use, expiring.

A grant of such a purpose on the privacy page is not sent to the consent service: a link is
mailed to the account's address, and the consent is recorded as granted only when that link is
used. The link carries everything it needs (account, purpose, channel, expiry, a random id),
signed with an HMAC key derived from `AUTH_KEY_ENCRYPTION_SECRET`, so nothing is stored until
it is used; then its id is marked used in Redis until it would have expired anyway (a second
use is refused). Withdrawing needs no link: it is immediate.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from dataclasses import dataclass

import redis.asyncio as aioredis

# Long enough to open a mail the next day, short enough that an old mail grants nothing.
TTL_S = 24 * 3600
_CONTEXT = b"ciam-auth/privacy/double-opt-in"


class LinkRefused(Exception):
    """The link is malformed, tampered with, expired or already used."""


@dataclass(frozen=True)
class OptIn:
    account_id: uuid.UUID
    purpose: str
    channel: str | None
    expires_at: int
    nonce: str


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), _CONTEXT, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(
    secret: str,
    account_id: uuid.UUID,
    purpose: str,
    channel: str | None,
    *,
    now: float | None = None,
) -> str:
    issued = time.time() if now is None else now
    claims = {
        "a": str(account_id),
        "p": purpose,
        "c": channel,
        "e": int(issued) + TTL_S,
        "n": secrets.token_urlsafe(16),
    }
    body = _b64(json.dumps(claims, separators=(",", ":")).encode())
    mac = _b64(hmac.new(_key(secret), body.encode(), hashlib.sha256).digest())
    return f"{body}.{mac}"


def verify(secret: str, token: str) -> OptIn:
    """The link's content if its signature holds and it has not expired (use not checked)."""
    body, _, mac = token.partition(".")
    expected = _b64(hmac.new(_key(secret), body.encode(), hashlib.sha256).digest())
    if not body or not hmac.compare_digest(mac, expected):
        raise LinkRefused("bad signature")
    try:
        claims = json.loads(_unb64(body))
        found = OptIn(
            uuid.UUID(claims["a"]), str(claims["p"]), claims["c"], int(claims["e"]), claims["n"]
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise LinkRefused("malformed") from exc
    if found.expires_at <= time.time():
        raise LinkRefused("expired")
    return found


class OptInLedger:
    """Which links were used (until they expire) and which purposes wait for one (shown on
    the page as "check your inbox"), in Redis."""

    def __init__(self, redis: aioredis.Redis, prefix: str) -> None:
        self._redis, self._prefix = redis, prefix

    def _used(self, nonce: str) -> str:
        return f"{self._prefix}privacy:optin-used:{nonce}"

    def _pending(self, account_id: uuid.UUID, purpose: str) -> str:
        return f"{self._prefix}privacy:optin-pending:{account_id}:{purpose}"

    async def use(self, link: OptIn) -> None:
        """Mark the link used; LinkRefused if it was before (atomic: two clicks, one use)."""
        ttl = max(1, link.expires_at - int(time.time()))
        if not await self._redis.set(self._used(link.nonce), "1", nx=True, ex=ttl):
            raise LinkRefused("already used")

    async def was_used(self, link: OptIn) -> bool:
        return bool(await self._redis.exists(self._used(link.nonce)))

    async def release(self, link: OptIn) -> None:
        """The grant it was used for failed: the link may be used again."""
        await self._redis.delete(self._used(link.nonce))

    async def mark_pending(self, account_id: uuid.UUID, purpose: str) -> None:
        await self._redis.set(self._pending(account_id, purpose), "1", ex=TTL_S)

    async def clear_pending(self, account_id: uuid.UUID, purpose: str) -> None:
        await self._redis.delete(self._pending(account_id, purpose))

    async def pending(self, account_id: uuid.UUID, purposes: list[str]) -> frozenset[str]:
        if not purposes:
            return frozenset()
        found = await self._redis.mget([self._pending(account_id, p) for p in purposes])
        return frozenset(p for p, v in zip(purposes, found, strict=True) if v is not None)
