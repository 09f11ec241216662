"""The fast handler tier: a service's handlers on FastStream's TestKafkaBroker, over a real
PostgreSQL (the inbox and the effect share a transaction: that is what the tests prove).

    async with handler_broker(subscribe_fn) as broker:
        await broker.publish_event(event)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from faststream.kafka import KafkaBroker, TestKafkaBroker
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from ciam_shared.db import create_engine
from ciam_shared.events import CloudEvent, encode
from ciam_shared.inbox import PROCESSED_EVENTS
from ciam_shared.outbox import OUTBOX, WAKE
from ciam_shared.topics import Topic

PREFIX = "unit."


def handler_sessions(engine: AsyncEngine, metadata: MetaData) -> async_sessionmaker[AsyncSession]:
    """Sessions as the service's runtime builds them (the outbox and inbox tables it stages
    into); the relay's wake is a no-op: nothing relays in this tier."""
    return async_sessionmaker(
        engine,
        expire_on_commit=False,
        autoflush=False,
        info={
            OUTBOX: metadata.tables[OUTBOX],
            PROCESSED_EVENTS: metadata.tables[PROCESSED_EVENTS],
            WAKE: lambda: None,
        },
    )


@dataclass
class HandlerBroker:
    broker: KafkaBroker
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]

    async def publish_event(self, event: CloudEvent[Any], *, topic: Topic) -> None:
        """The record as the outbox relay writes it (binary mode); a handler's error raises
        here, as the subscriber would raise it to its ack policy (not acknowledged)."""
        key, value, headers = encode(event)
        await self.broker.publish(value, topic.name(PREFIX), key=key, headers=headers)

    async def publish_raw(
        self, value: bytes | None, *, topic: Topic, key: bytes, headers: dict[str, str]
    ) -> None:
        await self.broker.publish(value, topic.name(PREFIX), key=key, headers=headers)


@asynccontextmanager
async def handler_broker(
    database_url: str,
    metadata: MetaData,
    subscribe: Callable[[KafkaBroker, str, async_sessionmaker[AsyncSession]], None],
) -> AsyncIterator[HandlerBroker]:
    """`subscribe(broker, prefix, sessions)` registers the service's handlers on a fresh broker,
    which runs under TestKafkaBroker (no Kafka)."""
    engine = create_engine(database_url)
    sessions = handler_sessions(engine, metadata)
    broker = KafkaBroker("localhost:9")  # never contacted: TestKafkaBroker patches it
    subscribe(broker, PREFIX, sessions)
    try:
        async with TestKafkaBroker(broker) as test_broker:
            yield HandlerBroker(test_broker, engine, sessions)
    finally:
        await engine.dispose()


def consumed_payloads(broker: KafkaBroker) -> dict[str, set[str]]:
    """What the service's AsyncAPI document (`/asyncapi`) says each consumer receives: the
    channel (`<topic>:<group>`) and the names of its payload schemas."""
    from ciam_shared.broker import asyncapi_document

    document = asyncapi_document(broker, title="handlers")
    messages = document["components"]["messages"]
    consumed: dict[str, set[str]] = {}
    for name, operation in document["operations"].items():
        if operation["action"] != "receive":
            continue
        for reference in operation["messages"]:
            message = messages[f"{name}:{reference['$ref'].rpartition('/')[2]}"]
            payload = message["payload"]
            refs = payload.get("oneOf", [payload])
            consumed.setdefault(name, set()).update(r["$ref"].rpartition("/")[2] for r in refs)
    return consumed
