"""WebAuthn challenges in Redis: random, single use (taken with GETDEL), expiring.

Each is stored under its own value with what the ceremony was for: registration (for which
account, from which session) or sign-in (whether user verification is required). A response
names its challenge in clientDataJSON; taking it from Redis is what makes the response fresh.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

import redis.asyncio as aioredis

REGISTER = "register"
SIGN_IN = "sign-in"
SIGN_UP = "sign-up"  # a new account with a passkey only: the address and the new account id


@dataclass(frozen=True)
class Challenge:
    value: bytes
    purpose: str
    account_id: str | None = None
    session_id: str | None = None
    user_verification: bool = True
    email: str | None = None
    locale: str | None = None


class Challenges:
    def __init__(self, redis: aioredis.Redis, *, prefix: str, ttl_seconds: int) -> None:
        self.redis = redis
        self.prefix = prefix
        self.ttl_seconds = ttl_seconds

    def _key(self, value: bytes) -> str:
        return f"{self.prefix}webauthn-challenge:{value.hex()}"

    async def issue(
        self,
        purpose: str,
        *,
        account_id: str | None = None,
        session_id: str | None = None,
        user_verification: bool = True,
        email: str | None = None,
        locale: str | None = None,
    ) -> Challenge:
        challenge = Challenge(
            secrets.token_bytes(32),
            purpose,
            account_id,
            session_id,
            user_verification,
            email,
            locale,
        )
        record = {
            "purpose": purpose,
            "account_id": account_id,
            "session_id": session_id,
            "uv": user_verification,
            "email": email,
            "locale": locale,
        }
        await self.redis.set(self._key(challenge.value), json.dumps(record), ex=self.ttl_seconds)
        return challenge

    async def take(self, value: bytes, purpose: str) -> Challenge | None:
        """The live challenge with this value, removed (a second use finds nothing)."""
        if not 16 <= len(value) <= 64:
            return None
        raw = await self.redis.getdel(self._key(value))
        if raw is None:
            return None
        record = json.loads(raw)
        if record.get("purpose") != purpose:
            return None
        return Challenge(
            value,
            purpose,
            record.get("account_id"),
            record.get("session_id"),
            bool(record["uv"]),
            record.get("email"),
            record.get("locale"),
        )
