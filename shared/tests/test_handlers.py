"""Module-level handlers (ciam_shared.handlers) against real PostgreSQL and Kafka: the
guarantees of `subscribe_idempotent` hold for them too (test_outbox.py proves them for it)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any

import anyio.to_thread
import pytest
from faststream.kafka import KafkaBroker
from sqlalchemy import Column, Integer, MetaData, Table, Uuid, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from ciam_devtools.testing.handlers import handler_sessions
from ciam_devtools.testing.plugin import eventually, publish_event
from ciam_shared.broker import create_broker
from ciam_shared.db import create_engine, new_metadata
from ciam_shared.events import CloudEvent, UserDeleted, UserRegistered, encode
from ciam_shared.handlers import (
    PARTS,
    Context,
    Session,
    handles,
    inbox_subscriber,
    provide_parts,
)
from ciam_shared.inbox import processed_events_table
from ciam_shared.outbox import outbox_table
from ciam_shared.topics import IDENTITY_EVENTS, ensure_topics

metadata: MetaData = new_metadata()
outbox_table(metadata)
processed = processed_events_table(metadata)
effects = Table(
    "effects",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subject_id", Uuid, nullable=False),
)


class Boom(Exception):
    pass


class Flaky:
    """Fails the first call for each subject in `fail_once`."""

    def __init__(self, *fail_once: uuid.UUID) -> None:
        self.fail_once = set(fail_once)
        self.calls: list[uuid.UUID] = []


async def on_registered(
    data: UserRegistered, session: Session, flaky: Annotated[Flaky, Context(PARTS)]
) -> None:
    flaky.calls.append(data.subject_id)
    await session.execute(effects.insert().values(subject_id=data.subject_id))
    if data.subject_id in flaky.fail_once:
        flaky.fail_once.discard(data.subject_id)
        raise Boom("transient")


async def on_deleted(data: UserDeleted, session: Session) -> None:
    await session.execute(effects.insert().values(subject_id=data.subject_id))


@pytest.fixture
async def engine(fresh_database) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(await fresh_database())
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    yield engine
    await engine.dispose()


async def consumer(engine: AsyncEngine, bootstrap: str, prefix: str, flaky: Flaky) -> KafkaBroker:
    await ensure_topics(bootstrap, [IDENTITY_EVENTS], prefix=prefix)
    broker = create_broker(bootstrap, client_id="test", description="test")
    provide_parts(broker, flaky)
    subscriber = inbox_subscriber(
        broker,
        topic=IDENTITY_EVENTS,
        prefix=prefix,
        group_id=f"{prefix}effects",
        sessions=handler_sessions(engine, metadata),
    )
    handles(subscriber, UserRegistered)(on_registered)
    handles(subscriber, UserDeleted)(on_deleted)
    await broker.start()
    return broker


async def count(engine: AsyncEngine, table: Table) -> int:
    async with engine.connect() as connection:
        return int(await connection.scalar(select(func.count()).select_from(table)) or 0)


def registered(subject: uuid.UUID) -> CloudEvent[UserRegistered]:
    data = UserRegistered(subject_id=subject, registered_at=datetime.now(UTC))
    return CloudEvent.wrap(data, source="/tests")


async def test_a_failing_handler_gets_its_record_again_and_a_duplicate_is_applied_once(
    engine: AsyncEngine, kafka_bootstrap: str, topic_prefix: str
) -> None:
    subject = uuid.uuid4()
    flaky = Flaky(subject)
    broker = await consumer(engine, kafka_bootstrap, topic_prefix, flaky)
    try:
        event = registered(subject)
        await publish_event(kafka_bootstrap, event, prefix=topic_prefix, times=2)
        # A sentinel behind them (same subject: same partition), of another handler.
        sentinel = CloudEvent.wrap(
            UserDeleted(subject_id=subject, deleted_at=datetime.now(UTC)), source="/tests"
        )
        await publish_event(kafka_bootstrap, sentinel, prefix=topic_prefix)

        async def sentinel_applied() -> bool:
            return await count(engine, processed) == 2

        await eventually(sentinel_applied)
        # Rolled back once, delivered again and applied; the duplicate stopped at the inbox.
        assert flaky.calls == [subject, subject]
        assert await count(engine, effects) == 2  # the registration's and the sentinel's
    finally:
        await broker.stop()


async def test_a_record_of_another_type_is_skipped_and_does_not_block_its_partition(
    engine: AsyncEngine, kafka_bootstrap: str, topic_prefix: str
) -> None:
    from aiokafka import AIOKafkaProducer

    subject = uuid.uuid4()
    flaky = Flaky()
    broker = await consumer(engine, kafka_bootstrap, topic_prefix, flaky)
    try:
        key, value, headers = encode(registered(subject))
        headers["ce_type"] = "dev.ciam.identity.from-the-future.v1"
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
        await producer.start()
        try:
            await producer.send_and_wait(
                IDENTITY_EVENTS.name(topic_prefix),
                value=value,
                key=key,
                headers=[(k, v.encode()) for k, v in headers.items()],
            )
        finally:
            await producer.stop()
        sentinel = registered(subject)
        await publish_event(kafka_bootstrap, sentinel, prefix=topic_prefix)

        async def sentinel_applied() -> bool:
            return await count(engine, processed) == 1

        await eventually(sentinel_applied)
        assert flaky.calls == [subject]  # only the sentinel reached a handler
    finally:
        await broker.stop()


async def test_a_record_reaches_its_handler_without_a_worker_thread(
    engine: AsyncEngine, kafka_bootstrap: str, topic_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # FastStream hands a plain-function filter, and the resolution of its own `Context`
    # parameters, to a worker thread: a thread hop each per record. The type filter of
    # `handles` and our `Context` stay on the event loop.
    hops: list[str] = []
    run_sync = anyio.to_thread.run_sync

    async def counted(func: Any, *args: Any, **kwargs: Any) -> Any:
        hops.append(getattr(func, "__qualname__", repr(func)))
        return await run_sync(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    subject = uuid.uuid4()
    flaky = Flaky()
    broker = await consumer(engine, kafka_bootstrap, topic_prefix, flaky)
    try:
        await publish_event(kafka_bootstrap, registered(subject), prefix=topic_prefix)

        async def applied() -> bool:
            return await count(engine, processed) == 1

        await eventually(applied)
        assert flaky.calls == [subject]  # the parts arrived through the context parameter
        assert hops == []
    finally:
        await broker.stop()
