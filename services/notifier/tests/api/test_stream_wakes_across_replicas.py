"""A consent change may be consumed by any replica of the notifier's consumer group, while a
customer's stream is open at another: that replica's streams are woken through Redis, not
left to their keep-alive re-read (15 s). Two broadcasters stand for two replicas (real Redis)."""

from __future__ import annotations

import asyncio
import uuid

import redis.asyncio as aioredis

from ciam_devtools.testing.plugin import eventually
from ciam_notifier.service.streams import Broadcaster


async def test_a_commit_at_one_replica_wakes_the_streams_of_another(redis_url: str) -> None:
    channel = f"t{uuid.uuid4().hex[:8]}.ciam:notifier:stream-events"
    consuming, streaming = (
        Broadcaster(aioredis.from_url(redis_url), channel=channel) for _ in range(2)
    )
    following = [asyncio.create_task(b.follow()) for b in (consuming, streaming)]
    probe = aioredis.from_url(redis_url)
    try:

        async def both_subscribed() -> bool:
            [(_, subscribers)] = await probe.pubsub_numsub(channel)
            return int(subscribers) == 2

        await eventually(both_subscribed)
        seen = streaming.generation
        consuming.notify()  # stream events committed at the replica that consumed the change
        # An hour's keep-alive: only the wake-up from the other replica ends this wait.
        async with asyncio.timeout(30):
            assert await streaming.wait(seen, timeout=3600) is True
        assert streaming.generation > seen
    finally:
        for task in following:
            task.cancel()
        await asyncio.gather(*following, return_exceptions=True)
        for broadcaster in (consuming, streaming):
            await broadcaster.aclose()
        await probe.aclose()


async def test_following_ends_when_cancelled_at_any_moment(redis_url: str) -> None:
    # A cancellation landing inside redis-py's socket read may surface as a connection error;
    # follow() must end all the same, or the service's stop waits for it forever.
    for delay in (0.0, 0.001, 0.005, 0.02, 0.1, 0.5):
        broadcaster = Broadcaster(
            aioredis.from_url(redis_url), channel=f"t{uuid.uuid4().hex[:8]}.stream-events"
        )
        following = asyncio.create_task(broadcaster.follow())
        await asyncio.sleep(delay)
        following.cancel()
        async with asyncio.timeout(10):
            await asyncio.gather(following, return_exceptions=True)
        assert following.done(), delay
        await broadcaster.aclose()
