"""Assembled profiles cached in Redis; never the only copy.

Invalidation is a double delete: once inside the writing transaction, before it commits, and
once after it committed (`after_commit`), so a read that assembled the old data between the
two cannot leave it behind. The TTL bounds whatever a lost invalidation (Redis down) leaves.
Consents are not in the cache: they are applied after it, from memory, on every read.
"""

from __future__ import annotations

import asyncio
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


class ProfileCache:
    def __init__(self, redis: aioredis.Redis, *, prefix: str, ttl_seconds: int) -> None:
        self.redis = redis
        self.prefix = f"{prefix}ciam:profile:"
        self.ttl = ttl_seconds
        self._pending: set[asyncio.Task[None]] = set()

    def profile_key(self, subject_id: uuid.UUID | str) -> str:
        return f"{self.prefix}doc:{subject_id}"

    async def read(self, subject_id: uuid.UUID) -> Document | None:
        try:
            raw = await self.redis.get(self.profile_key(subject_id))
        except aioredis.RedisError:
            log.warning("profile cache unavailable; reading the database")
            return None
        return None if raw is None else dict(json.loads(raw))

    async def store(self, subject_ids: Iterable[uuid.UUID], doc: Document) -> None:
        """Under each id of the cluster that was asked for (an absorbed id reads the merged
        profile too)."""
        payload = json.dumps(doc, separators=(",", ":"))
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for subject_id in subject_ids:
                    pipe.set(self.profile_key(subject_id), payload, ex=self.ttl)
                await pipe.execute()
        except aioredis.RedisError:
            log.warning("could not cache a profile")

    async def delete(self, keys: list[str]) -> None:
        if keys:
            await self.redis.delete(*keys)

    async def invalidate(self, session: AsyncSession, subject_ids: Iterable[uuid.UUID]) -> None:
        """Delete now and again after the session's transaction commits."""
        keys = [self.profile_key(s) for s in set(subject_ids)]
        await self.delete(keys)
        after_commit(session, lambda: self._later(keys))

    def _later(self, keys: list[str]) -> None:
        task = asyncio.get_running_loop().create_task(self.delete(keys))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def drain(self) -> None:
        """Wait for the after-commit deletions in flight (tests, shutdown)."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)
