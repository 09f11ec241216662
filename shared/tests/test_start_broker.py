"""`start_broker`: the subscribers start together, each in its own consumer group, and each
receives what its topic gets once its starting offsets are known (real Kafka)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from ciam_devtools.testing.plugin import eventually
from ciam_shared.broker import create_broker, start_broker
from ciam_shared.topics import CONSENT_CHANGES, IDENTITY_EVENTS, ensure_topics


def recorder(bodies: list[bytes]) -> Callable[[bytes], Awaitable[None]]:
    async def handle(body: bytes) -> None:
        bodies.append(body)

    return handle


async def test_every_subscriber_is_assigned_and_receives_once_started(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    topics = [IDENTITY_EVENTS, CONSENT_CHANGES]
    await ensure_topics(kafka_bootstrap, topics, prefix=topic_prefix)
    broker = create_broker(kafka_bootstrap, client_id="start-test", description="test")
    received: dict[str, list[bytes]] = {t.name(topic_prefix): [] for t in topics}
    for name in received:
        subscriber = broker.subscriber(name, group_id=f"{name}-group", auto_offset_reset="latest")
        subscriber(recorder(received[name]))
    await start_broker(broker)
    try:
        assert broker.running
        # Every consumer has its partitions when the call returns.
        consumers = [s.consumer for s in broker.subscribers]  # type: ignore[attr-defined]
        assert all(consumer.assignment() for consumer in consumers)
        # With `latest`, the starting offset of each partition is looked up after the
        # assignment, in the background; a record published before that lookup ends is
        # skipped. `position` waits for the lookup (CI once published in between).
        for consumer in consumers:
            for partition in consumer.assignment():
                await consumer.position(partition)
        publisher = create_broker(kafka_bootstrap, client_id="start-pub", description="test")
        await publisher.start()
        try:
            for name in received:
                await publisher.publish(b"hello", topic=name, key=b"k")
        finally:
            await publisher.stop()

        async def both() -> bool:
            return all(bodies == [b"hello"] for bodies in received.values())

        assert await eventually(both)
    finally:
        await asyncio.wait_for(broker.stop(), timeout=30)
