"""The gauges operators alert on, measured against real PostgreSQL and Kafka: the unsent
outbox (how many rows, how old the oldest) and each consumer group's lag per partition."""

from __future__ import annotations

import uuid
from datetime import timedelta

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from prometheus_client import REGISTRY
from sqlalchemy import update

from ciam_shared.db import utcnow
from ciam_shared.observability.metrics import LagProbe, outbox_gauges
from ciam_shared.topics import IDENTITY_EVENTS

from .test_outbox import Harness, harness, outbox

__all__ = ["harness"]  # the fixture, shared with the outbox's tests


def sample(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


async def test_the_outbox_gauges_count_unsent_rows_and_age_the_oldest(harness: Harness) -> None:
    service = f"obs-{uuid.uuid4().hex[:8]}"
    first = await harness.register("first@example.com")
    await harness.register("second@example.com")
    async with harness.engine.begin() as connection:
        await connection.execute(
            update(outbox)
            .where(outbox.c.event_id == first.id)
            .values(created_at=utcnow() - timedelta(minutes=2))
        )
    sessions = harness.sessions(wake=False)

    await outbox_gauges(service, sessions, outbox)
    assert sample("ciam_outbox_unsent", service=service) == 2
    age = sample("ciam_outbox_oldest_unsent_age_seconds", service=service)
    assert age is not None and age >= 120

    async with harness.engine.begin() as connection:
        await connection.execute(update(outbox).values(sent_at=utcnow()))
    await outbox_gauges(service, sessions, outbox)
    assert sample("ciam_outbox_unsent", service=service) == 0
    assert sample("ciam_outbox_oldest_unsent_age_seconds", service=service) == 0


async def test_consumer_lag_is_measured_from_the_broker_per_group_and_partition(
    harness: Harness,
) -> None:
    service = f"lag{uuid.uuid4().hex[:8]}"
    group = f"{service}.identity-events"
    topic = IDENTITY_EVENTS.name(harness.prefix)
    producer = AIOKafkaProducer(bootstrap_servers=harness.bootstrap, acks="all")
    await producer.start()
    try:
        for _ in range(5):
            await producer.send_and_wait(topic, value=b"{}", key=b"k", partition=1)
    finally:
        await producer.stop()
    tp = TopicPartition(topic, 1)
    # A group that read two of the five records and committed (as a stuck subscriber would).
    reader = AIOKafkaConsumer(
        bootstrap_servers=harness.bootstrap, group_id=group, enable_auto_commit=False
    )
    await reader.start()
    probe = LagProbe(service, harness.bootstrap, harness.prefix)
    await probe.start()
    try:
        reader.assign([tp])
        await reader.commit({tp: 2})
        lag = await probe.measure()
        assert lag == {(group, topic, 1): 3}
        assert sample("ciam_kafka_consumer_lag", group=group, topic=topic, partition="1") == 3
        committed = sample(
            "ciam_kafka_consumer_committed_offset", group=group, topic=topic, partition="1"
        )
        assert committed == 2

        await reader.commit({tp: 5})
        assert await probe.measure() == {(group, topic, 1): 0}
        assert sample("ciam_kafka_consumer_lag", group=group, topic=topic, partition="1") == 0
    finally:
        await probe.stop()
        await reader.stop()
