"""The outbox and the idempotent consumer against real PostgreSQL and Kafka."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer
from faststream.kafka import KafkaBroker
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Uuid,
    event,
    func,
    select,
    text,
    update,
)
from sqlalchemy.engine.interfaces import CacheStats
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from ciam_devtools.testing.plugin import eventually
from ciam_shared.broker import create_broker, subscribe_idempotent
from ciam_shared.db import create_engine, new_metadata, unit_of_work
from ciam_shared.events import CloudEvent, UserRegistered
from ciam_shared.inbox import PROCESSED_EVENTS, processed_events_table
from ciam_shared.outbox import OUTBOX, WAKE, OutboxRelay, outbox_table, stage, stage_many
from ciam_shared.topics import IDENTITY_EVENTS, ensure_topics

metadata: MetaData = new_metadata()
outbox = outbox_table(metadata)
processed = processed_events_table(metadata)
accounts = Table(
    "accounts",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("email", String(100), nullable=False, unique=True),
)
effects = Table(
    "effects",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subject_id", Uuid, nullable=False),
)


class Boom(Exception):
    pass


@dataclass
class Harness:
    engine: AsyncEngine
    prefix: str
    bootstrap: str
    relay: OutboxRelay | None = None

    def sessions(self, *, wake: bool = True) -> async_sessionmaker[AsyncSession]:
        info: dict[str, object] = {OUTBOX: outbox, PROCESSED_EVENTS: processed}
        if wake and self.relay is not None:
            info[WAKE] = self.relay.wake
        return async_sessionmaker(self.engine, expire_on_commit=False, info=info)

    def new_relay(self, *, sweep_seconds: float = 60.0) -> OutboxRelay:
        return OutboxRelay(
            service="test",
            table=outbox,
            sessions=self.sessions(wake=False),
            bootstrap_servers=self.bootstrap,
            sweep_seconds=sweep_seconds,
        )

    async def register(self, email: str, *, fail: bool = False) -> CloudEvent[UserRegistered]:
        subject = uuid.uuid4()
        event = CloudEvent.wrap(
            UserRegistered(subject_id=subject, registered_at=datetime.now(UTC)), source="/tests"
        )
        async with unit_of_work(self.sessions()) as session:
            await session.execute(accounts.insert().values(id=subject, email=email))
            await stage(session, event, topic_prefix=self.prefix)
            if fail:
                raise Boom
        return event

    async def count(self, table: Table) -> int:
        async with self.engine.connect() as connection:
            return int(await connection.scalar(select(func.count()).select_from(table)) or 0)

    async def unsent(self) -> int:
        async with self.engine.connect() as connection:
            query = select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))
            return int(await connection.scalar(query) or 0)


@pytest.fixture
async def harness(
    fresh_database, kafka_bootstrap: str, topic_prefix: str
) -> AsyncIterator[Harness]:
    engine = create_engine(await fresh_database())
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    await ensure_topics(kafka_bootstrap, [IDENTITY_EVENTS], prefix=topic_prefix)
    h = Harness(engine, topic_prefix, kafka_bootstrap)
    yield h
    if h.relay is not None:
        await h.relay.stop()
    await engine.dispose()


async def read_topic(h: Harness, expected: int, timeout: float = 20.0) -> list[object]:
    consumer = AIOKafkaConsumer(
        IDENTITY_EVENTS.name(h.prefix),
        bootstrap_servers=h.bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    records: list[object] = []
    try:
        async with asyncio.timeout(timeout):
            while len(records) < expected:
                batch = await consumer.getmany(timeout_ms=200)
                for items in batch.values():
                    records.extend(items)
        # Anything beyond `expected` that is already there would be a duplicate.
        extra = await consumer.getmany(timeout_ms=500)
        records.extend(r for items in extra.values() for r in items)
    finally:
        await consumer.stop()
    return records


async def test_state_change_and_event_commit_together_or_not_at_all(harness: Harness) -> None:
    await harness.register("kept@example.com")
    with pytest.raises(Boom):
        await harness.register("rolled-back@example.com", fail=True)
    assert await harness.count(accounts) == 1
    assert await harness.count(outbox) == 1


async def test_the_relay_is_woken_by_the_commit_not_the_sweep(harness: Harness) -> None:
    harness.relay = harness.new_relay(sweep_seconds=3600)  # the sweep never comes in this test
    await harness.relay.start()
    event = await harness.register("woken@example.com")
    records = await read_topic(harness, 1)
    assert len(records) == 1
    record = records[0]
    assert record.key == str(event.data.subject_id).encode()  # type: ignore[attr-defined]
    headers = dict(record.headers)  # type: ignore[attr-defined]
    assert headers["ce_id"] == str(event.id).encode()
    assert await eventually(lambda: _is_zero(harness.unsent()))


async def _is_zero(count: object) -> bool:
    return await count == 0  # type: ignore[misc]


async def test_an_event_committed_before_a_crash_is_published_after_restart(
    harness: Harness,
) -> None:
    # "Crash": the commit happens while no relay runs, so nothing wakes and nothing publishes.
    event = await harness.register("crashed@example.com")
    assert await harness.unsent() == 1
    harness.relay = harness.new_relay(sweep_seconds=3600)
    await harness.relay.start()  # the restarted relay publishes what it finds
    records = await read_topic(harness, 1)
    assert [dict(r.headers)["ce_id"] for r in records] == [str(event.id).encode()]  # type: ignore[attr-defined]


async def test_events_of_one_subject_keep_their_order(harness: Harness) -> None:
    subject = uuid.uuid4()
    events = [
        CloudEvent.wrap(
            UserRegistered(subject_id=subject, registered_at=datetime.now(UTC), channel=f"c{i}"),
            source="/tests",
        )
        for i in range(50)
    ]
    async with unit_of_work(harness.sessions()) as session:
        for event in events:
            await stage(session, event, topic_prefix=harness.prefix)
    relay = harness.new_relay()
    await relay.start()
    harness.relay = relay
    records = await read_topic(harness, 50)
    assert [dict(r.headers)["ce_id"].decode() for r in records] == [str(e.id) for e in events]  # type: ignore[attr-defined]


async def test_staging_reuses_one_compiled_statement(harness: Harness) -> None:
    # A statement that carries its rows (`insert().values(rows)`) has no cache key: it was
    # compiled again on every call, on every sign-in and every change that stages an event.
    seen: list[tuple[CacheStats, bool]] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith(f"INSERT INTO {OUTBOX.upper()}"):
            seen.append((context.cache_hit, executemany))

    event.listen(harness.engine.sync_engine, "before_cursor_execute", record)
    subject = uuid.uuid4()
    for n in range(3):
        async with unit_of_work(harness.sessions()) as session:
            batch = [
                CloudEvent.wrap(
                    UserRegistered(
                        subject_id=subject, registered_at=datetime.now(UTC), channel=f"{n}.{i}"
                    ),
                    source="/tests",
                )
                for i in range(n + 1)  # one row, then two, then three
            ]
            await stage_many(session, batch, topic_prefix=harness.prefix)
    event.remove(harness.engine.sync_engine, "before_cursor_execute", record)
    assert [executemany for _, executemany in seen] == [False, True, True]
    # The first call of each form compiles; the third call (three rows) reuses the second's.
    assert seen[2][0] is CacheStats.CACHE_HIT
    async with harness.engine.connect() as connection:
        payloads = (await connection.scalars(select(outbox.c.payload).order_by(outbox.c.seq))).all()
    # Every row, in the order staged.
    assert [json.loads(p)["channel"] for p in payloads] == [
        "0.0",
        "1.0",
        "1.1",
        "2.0",
        "2.1",
        "2.2",
    ]


async def apply_effect(session: AsyncSession, event: CloudEvent[UserRegistered]) -> None:
    await session.execute(effects.insert().values(subject_id=event.data.subject_id))


async def start_consumer(harness: Harness, handler=apply_effect) -> KafkaBroker:
    broker = create_broker(harness.bootstrap, client_id="test", description="test")
    subscribe_idempotent(
        broker,
        topic=IDENTITY_EVENTS,
        prefix=harness.prefix,
        group_id=f"{harness.prefix}effects",
        sessions=harness.sessions(),
        handlers={UserRegistered: handler},
    )
    await broker.start()
    return broker


async def test_a_duplicate_publish_is_applied_once(harness: Harness) -> None:
    await harness.register("twice@example.com")
    relay = harness.new_relay()
    await relay.start()
    harness.relay = relay
    assert await eventually(lambda: _is_zero(harness.unsent()))
    # Crash after publish, before the row was marked sent: the next relay publishes it again.
    async with harness.engine.begin() as connection:
        await connection.execute(update(outbox).values(sent_at=None))
    assert await relay.publish_batch() == 1
    assert len(await read_topic(harness, 2)) == 2
    broker = await start_consumer(harness)
    try:
        assert await eventually(lambda: harness_count_is(harness, processed, 1))
        # Give the duplicate its chance to be (wrongly) applied: wait until the group has
        # committed past both records.
        await eventually(lambda: committed_offset_is(harness, 2))
        assert await harness.count(effects) == 1
    finally:
        await broker.stop()


async def test_a_failing_handler_gets_the_record_again_and_applies_it_once(
    harness: Harness,
) -> None:
    calls: list[int] = []

    async def flaky(session: AsyncSession, event: CloudEvent[UserRegistered]) -> None:
        calls.append(1)
        await apply_effect(session, event)
        if len(calls) == 1:
            raise Boom("transient")

    broker = await start_consumer(harness, flaky)
    try:
        await harness.register("flaky@example.com")
        relay = harness.new_relay()
        await relay.start()
        harness.relay = relay
        assert await eventually(lambda: harness_count_is(harness, effects, 1))
        assert len(calls) == 2  # rolled back once, delivered again, applied once
        assert await harness.count(processed) == 1
    finally:
        await broker.stop()


async def harness_count_is(harness: Harness, table: Table, n: int) -> bool:
    return await harness.count(table) == n


async def committed_offset_is(harness: Harness, total: int) -> bool:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=harness.bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(f"{harness.prefix}effects")
        return sum(meta.offset for meta in offsets.values() if meta.offset > 0) >= total
    finally:
        await admin.close()


async def test_a_relay_that_waits_for_another_replicas_batch_publishes_when_it_ends(
    harness: Harness,
) -> None:
    """Replica B commits while replica A's relay holds the publishing lock for a batch it
    selected before B's commit: B's relay must publish B's row once A's batch ends, not at
    its next sweep (an hour here). The other relay's batch is a connection holding the lock."""
    relay = harness.new_relay(sweep_seconds=3600)
    harness.relay = relay
    async with harness.engine.connect() as other_replica:
        await other_replica.execute(select(func.pg_advisory_lock(relay._lock_id)))
        await relay.start()
        event = await harness.register("waits@example.com")  # wakes B's relay, which waits
        await eventually(lambda: relay_waits_for_lock(harness))
        await other_replica.execute(select(func.pg_advisory_unlock(relay._lock_id)))
        records = await read_topic(harness, 1)
    assert [dict(r.headers)["ce_id"] for r in records] == [str(event.id).encode()]  # type: ignore[attr-defined]
    assert await eventually(lambda: _is_zero(harness.unsent()))


async def relay_waits_for_lock(harness: Harness) -> bool:
    async with harness.engine.connect() as connection:
        waiting = await connection.scalar(
            text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        )
    return bool(waiting)


async def test_the_wait_for_another_replicas_batch_is_bounded_and_the_row_is_sent_after_it(
    harness: Harness,
) -> None:
    """The publishing lock is waited for under `lock_wait_seconds` (the timeout and the lock
    are one statement): past it the batch gives up, publishes nothing, leaves the row unsent,
    and a later sweep publishes it once the other relay is done."""
    relay = harness.new_relay(sweep_seconds=3600)
    relay.lock_wait_seconds = 0.3
    harness.relay = relay
    async with harness.engine.connect() as other_replica:
        await other_replica.execute(select(func.pg_advisory_lock(relay._lock_id)))
        await relay.start()
        event = await harness.register("bounded@example.com")
        # Not leader: the batch gave up within the bound instead of hanging (30 s to say so).
        assert await asyncio.wait_for(relay.publish_batch(), timeout=30) == 0
        assert await harness.unsent() == 1
        await other_replica.execute(select(func.pg_advisory_unlock(relay._lock_id)))
    assert await eventually(lambda: _is_zero(harness.unsent()))
    records = await read_topic(harness, 1)
    assert [dict(r.headers)["ce_id"] for r in records] == [str(event.id).encode()]  # type: ignore[attr-defined]
