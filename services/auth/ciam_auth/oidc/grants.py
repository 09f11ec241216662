"""Short-lived grant state in Redis: authorization codes, code-reuse traces, revoked tokens.

All of it expires with the tokens it concerns; none of it is the only copy of anything that
outlives them (refresh tokens, the long-lived grant, are in the database).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from dataclasses import asdict, dataclass

import redis.asyncio as aioredis


def _h(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class CodeGrant:
    client_id: str
    redirect_uri: str
    scope: str
    code_challenge: str
    nonce: str | None
    account_id: str
    session_id: str
    auth_time: int
    amr: list[str]


class GrantStore:
    CODE_REUSE_WINDOW_S = 600

    def __init__(self, redis: aioredis.Redis, *, code_ttl_s: int) -> None:
        self._redis = redis
        self._code_ttl_s = code_ttl_s

    async def issue_code(self, grant: CodeGrant) -> str:
        code = secrets.token_urlsafe(32)
        await self._redis.set(
            f"oidc:code:{_h(code)}", json.dumps(asdict(grant)), ex=self._code_ttl_s
        )
        return code

    async def take_code(self, code: str) -> CodeGrant | None:
        """Single use: GETDEL is atomic, so of two concurrent redemptions one gets the grant."""
        raw = await self._redis.getdel(f"oidc:code:{_h(code)}")
        return CodeGrant(**json.loads(raw)) if raw else None

    async def remember_redeemed(self, code: str, family_id: uuid.UUID) -> None:
        await self._redis.set(
            f"oidc:code-used:{_h(code)}", str(family_id), ex=self.CODE_REUSE_WINDOW_S
        )

    async def family_of_redeemed(self, code: str) -> uuid.UUID | None:
        raw = await self._redis.get(f"oidc:code-used:{_h(code)}")
        return uuid.UUID(raw.decode() if isinstance(raw, bytes) else raw) if raw else None

    async def revoke_family(self, family_id: uuid.UUID, ttl_s: int) -> None:
        await self._redis.set(f"oidc:family-revoked:{family_id}", "1", ex=ttl_s)

    async def revoke_access_token(self, jti: str, ttl_s: int) -> None:
        await self._redis.set(f"oidc:at-revoked:{jti}", "1", ex=max(ttl_s, 1))

    async def access_token_revoked(self, jti: str) -> bool:
        """Revoked by itself (RFC 7009) or through its family (reuse, logout, revocation). The
        family is in the jti of a user's token (TokenIssuer.access_token): one round trip."""
        family = family_of_jti(jti)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.exists(f"oidc:at-revoked:{jti}")
            if family is not None:
                pipe.exists(f"oidc:family-revoked:{family}")
            revoked, *family_revoked = await pipe.execute()
        return bool(revoked) or any(family_revoked)


def family_of_jti(jti: str) -> uuid.UUID | None:
    """The refresh token family an access token's jti names; None for an app's own token
    (client credentials), whose jti is random only."""
    head, dot, _ = jti.partition(".")
    if not dot:
        return None
    try:
        return uuid.UUID(hex=head)
    except ValueError:
        return None
