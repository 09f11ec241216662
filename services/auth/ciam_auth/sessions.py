"""Customer sessions in Redis behind an opaque cookie.

PROVISIONAL: the minimal contract the OIDC provider is written against (create, get, revoke,
the revocation hook). The accounts work (login page, throttling, session listing, lifetimes)
replaces this module with the full implementation of the same interface.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import datetime

import redis.asyncio as aioredis
from fastapi import Request

from ciam_shared.db import utcnow
from ciam_shared.service import ServiceRuntime

COOKIE = "ciam_session"
IDLE_S = 8 * 3600

RevokedHook = Callable[[uuid.UUID, list[str] | None], Awaitable[None]]
HOOKS = "sessions_revoked_hooks"


def on_sessions_revoked(runtime: ServiceRuntime, callback: RevokedHook) -> None:
    """Call `callback` after sessions of this service end (the OIDC provider revokes their
    refresh tokens). Kept per runtime, never in a module global."""
    runtime.extras.setdefault(HOOKS, []).append(callback)


def store_of(runtime: ServiceRuntime) -> SessionStore:
    return SessionStore(runtime.redis, runtime.extras.get(HOOKS, []))


@dataclass(frozen=True)
class Session:
    id: str
    account_id: uuid.UUID
    created_at: datetime
    last_seen: datetime
    device: str
    channel: str
    amr: list[str]
    auth_time: datetime


def _key(session_id: str) -> str:
    return "session:" + hashlib.sha256(session_id.encode()).hexdigest()


class SessionStore:
    def __init__(self, redis: aioredis.Redis, hooks: list[RevokedHook] | None = None) -> None:
        self._redis = redis
        self._hooks = hooks or []

    async def create(
        self, account_id: uuid.UUID, *, device: str, channel: str, amr: list[str]
    ) -> Session:
        now = utcnow()
        session = Session(
            secrets.token_urlsafe(32), account_id, now, now, device, channel, amr, now
        )
        record = asdict(session) | {"account_id": str(account_id)}
        for name in ("created_at", "last_seen", "auth_time"):
            record[name] = record[name].isoformat()
        await self._redis.set(_key(session.id), json.dumps(record), ex=IDLE_S)
        return session

    async def get(self, session_id: str) -> Session | None:
        raw = await self._redis.get(_key(session_id))
        if raw is None:
            return None
        record = json.loads(raw)
        return Session(
            id=session_id,
            account_id=uuid.UUID(record["account_id"]),
            created_at=datetime.fromisoformat(record["created_at"]),
            last_seen=datetime.fromisoformat(record["last_seen"]),
            device=record["device"],
            channel=record["channel"],
            amr=record["amr"],
            auth_time=datetime.fromisoformat(record["auth_time"]),
        )

    async def revoke(self, account_id: uuid.UUID, session_id: str) -> None:
        await self._redis.delete(_key(session_id))
        for hook in self._hooks:
            await hook(account_id, [session_id])


async def current_session(request: Request) -> Session | None:
    session_id = request.cookies.get(COOKIE)
    if not session_id:
        return None
    return await store_of(request.app.state.runtime).get(session_id)
