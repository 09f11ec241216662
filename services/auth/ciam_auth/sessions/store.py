"""Sign-in sessions in Redis behind an opaque cookie.

The cookie (`ciam_session`) holds a random secret. A session's id (`Session.id`, the `sid` the
OIDC half puts in tokens and the id the customer sees in their list) is the SHA-256 of that
secret, base64url: Redis is keyed by the id, so a dump of Redis gives no usable cookie, and the
id can be shown and passed around without letting anyone sign in with it. The secret is known
only once, on the `Session` that `create` returns (`Session.secret`).

Keys (under the store's prefix): `session:<id>` a hash with the session's fields, expiring after
the idle lifetime (pushed back on every `get`) and never after the absolute one;
`account-sessions:<account id>` the set of the account's session ids.

Nothing here is the only copy of anything: losing Redis signs everyone out, nothing more.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import redis.asyncio as aioredis
from fastapi import Response

log = logging.getLogger(__name__)

COOKIE = "ciam_session"

RevokedCallback = Callable[[uuid.UUID, list[str] | None], Awaitable[None]]
_PROCESS_CALLBACKS: list[RevokedCallback] = []


def on_sessions_revoked(callback: RevokedCallback) -> Callable[[], None]:
    """Call `callback(account_id, session_ids)` after sessions are ended, in this process.

    `session_ids` is None when every session of the account ended (deletion, "sign out
    everywhere"). Returns a function that unregisters the callback. A callback that must reach
    one app's resources (its database) is better registered on that app's store,
    `SessionStore.on_sessions_revoked`, so that several apps in one process (tests) stay apart.
    """
    _PROCESS_CALLBACKS.append(callback)
    return lambda: _PROCESS_CALLBACKS.remove(callback)


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
    # When the customer last proved themselves again through a linked provider (a fresh
    # upstream sign-in, prompt=login): what a password-less account's sensitive changes need.
    reauth_at: datetime | None = None
    # The brand app (client id) whose frame this session was started in (embedding.py): such
    # a session is read only from the partitioned cookie, in that app's frames, never top level.
    embed: str | None = None
    # The cookie's value; set only on the Session returned by `create`.
    secret: str = field(default="", repr=False, compare=False)


def session_id_of(secret: str) -> str:
    digest = hashlib.sha256(secret.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _now() -> datetime:
    return datetime.now(UTC)


class SessionStore:
    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        idle_seconds: int,
        absolute_seconds: int,
        prefix: str = "",
    ) -> None:
        self.redis = redis
        self.idle_seconds = idle_seconds
        self.absolute_seconds = absolute_seconds
        self.prefix = prefix
        self._callbacks: list[RevokedCallback] = []
        self._touch = redis.register_script(_TOUCH)
        self._reauth = redis.register_script(_REAUTH)

    def on_sessions_revoked(self, callback: RevokedCallback) -> Callable[[], None]:
        """Like the module-level function, for this store's app only."""
        self._callbacks.append(callback)
        return lambda: self._callbacks.remove(callback)

    def _key(self, session_id: str) -> str:
        return f"{self.prefix}session:{session_id}"

    def _index(self, account_id: uuid.UUID) -> str:
        return f"{self.prefix}account-sessions:{account_id}"

    def _ttl(self, created_at: datetime, now: datetime) -> int:
        left = self.absolute_seconds - (now - created_at).total_seconds()
        return max(0, int(min(self.idle_seconds, left)))

    async def create(
        self,
        account_id: uuid.UUID,
        *,
        device: str,
        channel: str,
        amr: list[str],
        embed: str | None = None,
    ) -> Session:
        secret = secrets.token_urlsafe(32)
        now = _now()
        session = Session(
            id=session_id_of(secret),
            account_id=account_id,
            created_at=now,
            last_seen=now,
            device=device[:200],
            channel=channel[:50],
            amr=list(amr),
            auth_time=now,
            embed=embed,
            secret=secret,
        )
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._key(session.id), mapping=cast(dict[Any, Any], _to_hash(session)))
            pipe.expire(self._key(session.id), self._ttl(now, now))
            pipe.sadd(self._index(account_id), session.id)
            pipe.expire(self._index(account_id), self.absolute_seconds)
            await pipe.execute()
        return session

    async def get(self, session_id: str) -> Session | None:
        """The live session with this id, its last_seen moved to now; None if ended or expired."""
        raw = await self.redis.hgetall(self._key(session_id))
        if not raw:
            return None
        session = _from_hash(session_id, raw)
        now = _now()
        ttl = self._ttl(session.created_at, now)
        if ttl <= 0 or (now - session.last_seen).total_seconds() > self.idle_seconds:
            await self._delete(session.account_id, [session_id])
            return None
        # Only if still there: a revocation between the read and this write must not be undone.
        touched = await self._touch(keys=[self._key(session_id)], args=[now.isoformat(), ttl])
        if not touched:
            return None
        return Session(**{**session.__dict__, "last_seen": now})

    async def reauthenticated(
        self, session_id: str, amr: list[str], *, step_up: bool = False
    ) -> Session | None:
        """The customer proved themselves again in this session (OIDC prompt=login, max_age):
        auth_time moves to now and amr is replaced; the id, and so tokens bound to it, stay.
        `step_up`: the proof was a fresh sign-in at a linked provider; `reauth_at` moves to
        now too (a plain sign-in never sets it: a provider may sign in without asking)."""
        session = await self.get(session_id)
        if session is None:
            return None
        now = _now()
        done = await self._reauth(
            keys=[self._key(session_id)],
            args=[now.isoformat(), json.dumps(list(amr)), "1" if step_up else ""],
        )
        if not done:
            return None
        reauth_at = now if step_up else session.reauth_at
        changes = {"auth_time": now, "last_seen": now, "amr": list(amr), "reauth_at": reauth_at}
        return Session(**{**session.__dict__, **changes})

    async def get_by_secret(self, secret: str) -> Session | None:
        return await self.get(session_id_of(secret))

    async def list_for(self, account_id: uuid.UUID) -> list[Session]:
        ids = sorted(_text(m) for m in await self.redis.smembers(self._index(account_id)))
        if not ids:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for session_id in ids:
                pipe.hgetall(self._key(session_id))
            rows = await pipe.execute()
        found, gone = [], []
        for session_id, raw in zip(ids, rows, strict=True):
            if raw:
                found.append(_from_hash(session_id, raw))
            else:
                gone.append(session_id)
        if gone:  # expired: their keys are gone, drop them from the index too
            await self.redis.srem(self._index(account_id), *gone)
        return sorted(found, key=lambda s: s.last_seen, reverse=True)

    async def revoke(self, account_id: uuid.UUID, session_id: str) -> bool:
        """End one of the account's sessions; False if it has no such session."""
        if not await self.redis.sismember(self._index(account_id), session_id):
            return False
        await self._delete(account_id, [session_id])
        await self._notify(account_id, [session_id])
        return True

    async def revoke_all(
        self, account_id: uuid.UUID, except_session_id: str | None = None
    ) -> list[str]:
        """End every session of the account but `except_session_id`; returns the ended ids."""
        ids = [_text(m) for m in await self.redis.smembers(self._index(account_id))]
        ended = [i for i in ids if i != except_session_id]
        await self._delete(account_id, ended)
        await self._notify(account_id, None if except_session_id is None else ended)
        return ended

    async def _delete(self, account_id: uuid.UUID, session_ids: list[str]) -> None:
        if not session_ids:
            return
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(*(self._key(i) for i in session_ids))
            pipe.srem(self._index(account_id), *session_ids)
            await pipe.execute()

    async def _notify(self, account_id: uuid.UUID, session_ids: list[str] | None) -> None:
        """Every callback runs; the first failure is raised after all have run, so a failing
        refresh-token revocation is never silent."""
        callbacks = [*self._callbacks, *_PROCESS_CALLBACKS]
        results = await asyncio.gather(
            *(cb(account_id, session_ids) for cb in callbacks), return_exceptions=True
        )
        errors = [r for r in results if isinstance(r, BaseException)]
        for error in errors:
            log.error("a sessions-revoked callback failed: %r", error)
        if errors:
            raise errors[0]


_TOUCH = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'last_seen', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
"""


_REAUTH = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'auth_time', ARGV[1], 'last_seen', ARGV[1], 'amr', ARGV[2])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'reauth_at', ARGV[1]) end
return 1
"""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _to_hash(session: Session) -> dict[str, str]:
    embedded = {"embed": session.embed} if session.embed else {}
    return embedded | {
        "account_id": str(session.account_id),
        "created_at": session.created_at.isoformat(),
        "last_seen": session.last_seen.isoformat(),
        "device": session.device,
        "channel": session.channel,
        "amr": json.dumps(session.amr),
        "auth_time": session.auth_time.isoformat(),
    }


def _from_hash(session_id: str, raw: dict[Any, Any]) -> Session:
    h = {(k.decode() if isinstance(k, bytes) else k): v.decode() for k, v in raw.items()}
    return Session(
        id=session_id,
        account_id=uuid.UUID(h["account_id"]),
        created_at=datetime.fromisoformat(h["created_at"]),
        last_seen=datetime.fromisoformat(h["last_seen"]),
        device=h["device"],
        channel=h["channel"],
        amr=json.loads(h["amr"]),
        auth_time=datetime.fromisoformat(h["auth_time"]),
        reauth_at=datetime.fromisoformat(h["reauth_at"]) if h.get("reauth_at") else None,
        embed=h.get("embed") or None,
    )


# --- FastAPI edge ---------------------------------------------------------------------------


def reauthenticated_until(session: Session, window_seconds: int) -> datetime | None:
    """Until when the session's last re-authentication through a provider counts."""
    if session.reauth_at is None:
        return None
    until = session.reauth_at + timedelta(seconds=window_seconds)
    return until if until > _now() else None


def set_session_cookie(response: Response, session: Session, *, secure: bool, max_age: int) -> None:
    response.set_cookie(
        COOKIE,
        session.secret,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure,
    )


def clear_session_cookie(response: Response, *, secure: bool) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=secure)
