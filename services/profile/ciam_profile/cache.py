"""Assembled profiles cached in Redis; never the only copy.

Invalidation deletes the document and bumps the subject's generation, once inside the writing
transaction and once after it committed (`after_commit`). A read notes the generation before
it assembles and stores only if it is unchanged (one Lua script), so a read that assembled the
old data while a write (or an erasure) committed cannot leave it behind, whenever its store
lands. The TTL bounds whatever a lost invalidation (Redis down) leaves.
Consents are not in the cache: they are applied after it, from memory, on every read.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import uuid
from collections.abc import Iterable
from typing import Any

import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncSession

from ciam_shared.db import after_commit

log = logging.getLogger(__name__)

Document = dict[str, Any]

# KEYS: generation, document; ARGV: the generation the read saw, the document, the TTL.
_STORE_IF_UNCHANGED = """
local current = redis.call('GET', KEYS[1]) or '0'
if current ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
return 1
"""


class ProfileCache:
    def __init__(self, redis: aioredis.Redis, *, prefix: str, ttl_seconds: int) -> None:
        self.redis = redis
        self.prefix = f"{prefix}ciam:profile:"
        self.ttl = ttl_seconds
        self._pending: set[asyncio.Task[None]] = set()
        self._store_if_unchanged = redis.register_script(_STORE_IF_UNCHANGED)

    def profile_key(self, subject_id: uuid.UUID | str) -> str:
        return f"{self.prefix}doc:{subject_id}"

    def generation_key(self, subject_id: uuid.UUID | str) -> str:
        # Hashed: after an erasure no key names the subject (the counter outlives it by 2 TTLs).
        digest = hashlib.sha256(str(subject_id).encode()).hexdigest()[:32]
        return f"{self.prefix}gen:{digest}"

    async def generation(self, subject_id: uuid.UUID) -> str | None:
        """The subject's generation before a read assembles (None: Redis is down)."""
        try:
            raw = await self.redis.get(self.generation_key(subject_id))
        except aioredis.RedisError:
            return None
        return "0" if raw is None else (raw.decode() if isinstance(raw, bytes) else str(raw))

    async def read(self, subject_id: uuid.UUID) -> Document | None:
        try:
            raw = await self.redis.get(self.profile_key(subject_id))
        except aioredis.RedisError:
            log.warning("profile cache unavailable; reading the database")
            return None
        return None if raw is None else dict(json.loads(raw))

    async def store(self, subject_id: uuid.UUID, doc: Document, generation: str | None) -> None:
        """Cache the document the read assembled, unless the subject was invalidated since the
        read noted `generation` (None: Redis was down then, so nothing is stored)."""
        if generation is None:
            return
        payload = json.dumps(doc, separators=(",", ":"))
        try:
            await self._store_if_unchanged(
                keys=[self.generation_key(subject_id), self.profile_key(subject_id)],
                args=[generation, payload, self.ttl],
            )
        except aioredis.RedisError:
            log.warning("could not cache a profile")

    async def delete(self, subject_ids: list[str]) -> None:
        if not subject_ids:
            return
        async with self.redis.pipeline(transaction=True) as pipe:
            for subject_id in subject_ids:
                pipe.incr(self.generation_key(subject_id))
                pipe.expire(self.generation_key(subject_id), 2 * self.ttl)
            pipe.delete(*[self.profile_key(s) for s in subject_ids])
            await pipe.execute()

    async def invalidate(self, session: AsyncSession, subject_ids: Iterable[uuid.UUID]) -> None:
        """Invalidate now and again after the session's transaction commits."""
        ids = [str(s) for s in set(subject_ids)]
        await self.delete(ids)
        after_commit(session, lambda: self._later(ids))

    def _later(self, ids: list[str]) -> None:
        task = asyncio.get_running_loop().create_task(self.delete(ids))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def drain(self) -> None:
        """Wait for the after-commit deletions in flight (tests, shutdown)."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)
