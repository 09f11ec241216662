"""A read that assembled a profile while a write committed must not cache the old document."""

from __future__ import annotations

import uuid

import redis.asyncio as aioredis

from ciam_profile.cache import ProfileCache


async def test_a_read_overtaken_by_an_invalidation_caches_nothing(
    redis_url: str, topic_prefix: str
) -> None:
    redis = aioredis.from_url(redis_url)
    cache = ProfileCache(redis, prefix=topic_prefix, ttl_seconds=60)
    subject = uuid.uuid4()
    try:
        seen = await cache.generation(subject)  # the read starts assembling...
        await cache.delete([str(subject)])  # ...a write (or an erasure) commits meanwhile
        await cache.store(subject, {"fields": {"name": "old"}}, seen)
        assert await cache.read(subject) is None
        fresh = await cache.generation(subject)  # a read after the write stores its result
        await cache.store(subject, {"fields": {"name": "new"}}, fresh)
        assert await cache.read(subject) == {"fields": {"name": "new"}}
        keys = [k.decode() for k in await redis.keys(f"{topic_prefix}*")]
        assert not [k for k in keys if "gen:" in k and str(subject) in k]
    finally:
        await redis.aclose()
