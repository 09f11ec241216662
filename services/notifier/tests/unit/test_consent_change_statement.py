"""The consent-change consumer against a real PostgreSQL (FastStream's test broker): one round
trip per change, and the subscriptions read from an in-memory index that follows every change
to them, including those another replica makes (here: the service's own functions on another
engine, as another replica's API or app-deletion consumer runs them)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from faststream.kafka import KafkaBroker
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ciam_devtools.testing.handlers import HandlerBroker, handler_broker
from ciam_notifier import events
from ciam_notifier.apps import stop_app
from ciam_notifier.models import Base, Delivery, Message, StreamEvent, Suppression
from ciam_notifier.service import fanout, subscriptions
from ciam_notifier.service.changes import ChangeWriter
from ciam_notifier.ssrf import WebhookGuard, networks
from ciam_shared.db import create_engine, create_session_factory
from ciam_shared.events import (
    CloudEvent,
    CollectionMethod,
    ConsentStatus,
    ConsentWithdrawn,
)
from ciam_shared.topics import CONSENT_CHANGES

PURPOSE = "email-marketing"


@dataclass(frozen=True)
class App:
    name: str
    brand: str | None
    purposes: list[str]


class Directory:
    """The apps the notifier knows (what BrandAppView reads from the auth service's topic)."""

    def __init__(self, **apps: list[str]) -> None:
        self.apps = {name: App(name, None, purposes) for name, purposes in apps.items()}

    def get(self, client_id: str) -> App | None:
        return self.apps.get(client_id)


@dataclass
class Consumer:
    broker: HandlerBroker
    writer: ChangeWriter
    delivered: list[list[fanout.Immediate]] = field(default_factory=list)
    confirmations: int = 0

    async def publish(self, subject: uuid.UUID | None = None) -> CloudEvent[Any]:
        data = ConsentWithdrawn(
            subject_id=subject or uuid.uuid4(),
            version=2,
            purpose=PURPOSE,
            purpose_version=1,
            status=ConsentStatus.WITHDRAWN,
            collected_via=CollectionMethod.WEB,
            occurred_at=datetime.now(UTC),
            entry_hash="ab" * 32,
        )
        event = CloudEvent.wrap(data, source="/tests")
        await self.broker.publish_event(event, topic=CONSENT_CHANGES)
        return event

    async def count(self, model: Any, *where: Any) -> int:
        async with self.broker.engine.connect() as connection:
            statement = select(func.count()).select_from(model).where(*where)
            return int((await connection.execute(statement)).scalar_one())


@pytest.fixture
async def database(fresh_database: Any) -> str:
    url: str = await fresh_database("ciam_notifier.migrations")
    return url


@pytest.fixture
async def consumer(database: str) -> AsyncIterator[Consumer]:
    ready = asyncio.Event()
    ready.set()
    writer = ChangeWriter(database, events.CONSENT_GROUP)
    found: list[Consumer] = []

    def subscribe(broker: KafkaBroker, prefix: str, sessions: async_sessionmaker[AsyncSession]):
        def wake_messages() -> None:
            found[0].confirmations += 1

        handling = events.Handling(
            sessions=sessions,
            apps=Directory(shop=[PURPOSE]),  # type: ignore[arg-type]
            apps_ready=ready,
            deliver_now=lambda immediate: found[0].delivered.append(immediate),
            fast_path=lambda: True,
            wake_streams=lambda: None,
            wake_messages=wake_messages,
            writer=writer,
        )
        events.subscribe(broker, prefix, handling)

    try:
        async with handler_broker(database, Base.metadata, subscribe) as broker:
            found.append(Consumer(broker, writer))
            yield found[0]
    finally:
        await writer.aclose()


@pytest.fixture
async def replica(database: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Another replica's database sessions (its own engine and pool)."""
    engine = create_engine(database)
    try:
        yield create_session_factory(engine)
    finally:
        await engine.dispose()


GUARD = WebhookGuard(tuple(networks(["127.0.0.0/8"])))


async def subscribe(sessions: async_sessionmaker[AsyncSession], app: str = "shop") -> uuid.UUID:
    async with sessions() as session, session.begin():
        row = await subscriptions.subscribe(
            session,
            app=app,
            declared=frozenset({PURPOSE}),
            url="http://127.0.0.1:9/hook",
            event_types=[],
            purposes=[],
            brands=[],
            guard=GUARD,
        )
    return row.id


@pytest.fixture
def round_trips(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every request asyncpg sends and waits for (a BEGIN or COMMIT, a prepare, a prepared
    statement's execution, a ping): one round trip each."""
    sent: list[str] = []

    def counting(cls: type, name: str) -> None:
        original = getattr(cls, name)

        async def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            sent.append(f"{cls.__name__}.{name}")
            return await original(self, *args, **kwargs)

        monkeypatch.setattr(cls, name, wrapper)

    for name in ("execute", "executemany", "prepare", "fetch", "fetchrow", "fetchval"):
        counting(asyncpg.connection.Connection, name)
    for name in ("fetch", "fetchrow", "fetchval", "executemany"):
        counting(asyncpg.prepared_stmt.PreparedStatement, name)
    yield sent


async def test_a_change_is_one_round_trip_and_reads_no_subscription(
    consumer: Consumer, replica: async_sessionmaker[AsyncSession], round_trips: list[str]
) -> None:
    """Ten endpoints, a confirmation, suppressions, a stream event and the inbox row: one
    request to PostgreSQL per change once the statement is prepared; the subscriptions were
    read once, before the first change."""
    for _ in range(10):
        await subscribe(replica)
    await consumer.publish()  # the first: loads the index and prepares the statement
    assert consumer.writer.index.loads == 1
    round_trips.clear()
    events = [await consumer.publish() for _ in range(5)]
    assert len(round_trips) == 5, round_trips
    assert consumer.writer.index.loads == 1

    subject = events[-1].data.subject_id
    assert await consumer.count(Delivery, Delivery.event_id == events[-1].id) == 10
    assert await consumer.count(Suppression, Suppression.subject_id == subject) == 2
    assert await consumer.count(StreamEvent, StreamEvent.subject_id == subject) == 1
    assert await consumer.count(Message, Message.subject_id == subject) == 1
    # Each change's ten deliveries go at once (none owed earlier to its subject), after commit.
    assert [len(batch) for batch in consumer.delivered] == [10] * 6
    assert consumer.confirmations == 6

    round_trips.clear()
    await consumer.broker.publish_event(events[-1], topic=CONSENT_CHANGES)  # redelivered
    assert len(round_trips) == 1
    assert await consumer.count(Delivery, Delivery.event_id == events[-1].id) == 10
    assert await consumer.count(Message, Message.subject_id == subject) == 1
    assert len(consumer.delivered) == 6 and consumer.confirmations == 6  # nothing woken


async def test_the_index_follows_every_change_another_replica_makes(
    consumer: Consumer, replica: async_sessionmaker[AsyncSession]
) -> None:
    first = await subscribe(replica)
    event = await consumer.publish()
    assert [i.subscription.id for i in consumer.delivered[-1]] == [first]
    loads = consumer.writer.index.loads

    async def fanned_to(event: CloudEvent[Any]) -> dict[uuid.UUID, bool]:
        """subscription -> whether its delivery went at once."""
        async with consumer.broker.engine.connect() as connection:
            rows = await connection.execute(
                select(
                    Delivery.subscription_id, Delivery.next_attempt_at > Delivery.created_at
                ).where(Delivery.event_id == event.id)
            )
            return {row[0]: bool(row[1]) for row in rows}

    # Created elsewhere: the next change reaches it.
    second = await subscribe(replica)
    event = await consumer.publish()
    assert await fanned_to(event) == {first: True, second: True}
    assert consumer.writer.index.loads == loads + 1

    # Paused elsewhere: queued and held (not at once), the other goes at once.
    async with replica() as session, session.begin():
        await subscriptions.set_status(session, "shop", second, "paused")
    event = await consumer.publish()
    assert await fanned_to(event) == {first: True, second: False}
    assert [i.subscription.id for i in consumer.delivered[-1]] == [first]

    # A new secret elsewhere: the delivery going at once is signed with it.
    async with replica() as session, session.begin():
        rotated = await subscriptions.rotate_secret(session, "shop", first)
    await consumer.publish()
    assert [i.subscription.secret for i in consumer.delivered[-1]] == [rotated.secret]

    # Deleted elsewhere: nothing more for it.
    async with replica() as session, session.begin():
        await subscriptions.unsubscribe(session, "shop", second)
    event = await consumer.publish()
    assert await fanned_to(event) == {first: True}

    # Its app deleted (another replica's app consumer): nothing more for any of its own.
    async with replica() as session, session.begin():
        assert await stop_app(session, "shop", datetime.now(UTC)) == 1
    event = await consumer.publish()
    assert await fanned_to(event) == {}
    assert consumer.writer.index.loads == loads + 5

    # No change to the subscriptions: no reload, however many consent changes.
    for _ in range(3):
        await consumer.publish()
    assert consumer.writer.index.loads == loads + 5
