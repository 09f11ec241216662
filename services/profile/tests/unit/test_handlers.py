"""The profile service's Kafka handlers on FastStream's test broker, over a real PostgreSQL and
Redis: the effect of a valid event, a duplicate ignored, an invalid payload not acknowledged.
The real-broker tests (tests/events) prove the same against Kafka."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
import redis.asyncio as aioredis
from faststream.kafka import KafkaBroker
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ciam_devtools.testing.handlers import PREFIX, HandlerBroker, consumed_payloads, handler_broker
from ciam_profile import events
from ciam_profile.cache import ProfileCache
from ciam_profile.models import Base, Profile, outbox, processed_events
from ciam_shared.events import (
    CloudEvent,
    IdentityLinked,
    UserDeleted,
    UserRegistered,
    encode,
)
from ciam_shared.topics import IDENTITY_EVENTS, PRIVACY_REQUESTS


@pytest.fixture
async def handlers(fresh_database, redis_url: str) -> AsyncIterator[HandlerBroker]:
    url = await fresh_database("ciam_profile.migrations")
    redis = aioredis.from_url(redis_url)
    cache = ProfileCache(redis, prefix=f"{uuid.uuid4().hex}.", ttl_seconds=60)

    def subscribe(broker: KafkaBroker, prefix: str, sessions: async_sessionmaker[AsyncSession]):
        handling = events.Handling(cache=cache, imports=None, topic_prefix=PREFIX)
        events.subscribe(broker, prefix=prefix, sessions=sessions, handling=handling)

    try:
        async with handler_broker(url, Base.metadata, subscribe) as broker:
            yield broker
    finally:
        await redis.aclose()


def registered(subject: uuid.UUID) -> CloudEvent[UserRegistered]:
    data = UserRegistered(subject_id=subject, registered_at=datetime.now(UTC))
    return CloudEvent.wrap(data, source="/tests")


async def scalar(broker: HandlerBroker, statement: Any) -> Any:
    async with broker.engine.connect() as connection:
        return (await connection.execute(statement)).scalar_one()


def staged(event_type: str) -> Any:
    return select(func.count()).select_from(outbox).where(outbox.c.event_type == event_type)


async def test_a_registration_creates_the_profile_once(handlers: HandlerBroker) -> None:
    subject = uuid.uuid4()
    event = registered(subject)
    await handlers.publish_event(event, topic=IDENTITY_EVENTS)
    await handlers.publish_event(event, topic=IDENTITY_EVENTS)  # a redelivery
    profiles = select(func.count()).select_from(Profile).where(Profile.subject_id == subject)
    assert await scalar(handlers, profiles) == 1
    assert await scalar(handlers, staged("dev.ciam.profile.created.v1")) == 1
    inbox = select(func.count()).select_from(processed_events)
    assert await scalar(handlers, inbox) == 1  # the duplicate stopped at the inbox


async def test_a_deletion_erases_the_profile_once(handlers: HandlerBroker) -> None:
    subject = uuid.uuid4()
    await handlers.publish_event(registered(subject), topic=IDENTITY_EVENTS)
    deleted = CloudEvent.wrap(
        UserDeleted(subject_id=subject, deleted_at=datetime.now(UTC)), source="/tests"
    )
    await handlers.publish_event(deleted, topic=IDENTITY_EVENTS)
    await handlers.publish_event(deleted, topic=IDENTITY_EVENTS)
    assert await scalar(handlers, staged("dev.ciam.profile.erased.v1")) == 1
    inbox = select(func.count()).select_from(processed_events)
    assert await scalar(handlers, inbox) == 2


async def test_a_link_with_the_import_off_imports_nothing_but_is_recorded(
    handlers: HandlerBroker,
) -> None:
    subject = uuid.uuid4()
    await handlers.publish_event(registered(subject), topic=IDENTITY_EVENTS)
    linked = IdentityLinked.model_validate(
        {
            "subject_id": str(subject),
            "identity_id": str(uuid.uuid4()),
            "provider": "google",
            "imported_fields": ["given_name"],
            "linked_at": datetime.now(UTC).isoformat(),
        }
    )
    await handlers.publish_event(CloudEvent.wrap(linked, source="/tests"), topic=IDENTITY_EVENTS)
    assert await scalar(handlers, select(func.count()).select_from(processed_events)) == 2
    assert await scalar(handlers, staged("dev.ciam.profile.updated.v1")) == 0


async def test_an_invalid_payload_is_not_acknowledged_and_changes_nothing(
    handlers: HandlerBroker,
) -> None:
    key, _, headers = encode(registered(uuid.uuid4()))
    with pytest.raises(ValidationError):  # the subscriber nacks: the record comes again
        await handlers.publish_raw(b"{}", topic=IDENTITY_EVENTS, key=key, headers=headers)
    assert await scalar(handlers, select(func.count()).select_from(processed_events)) == 0
    assert await scalar(handlers, select(func.count()).select_from(Profile)) == 0


def test_the_asyncapi_document_describes_what_the_service_consumes() -> None:
    broker = KafkaBroker("localhost:9")
    handling = events.Handling(cache=None, imports=None, topic_prefix=PREFIX)  # type: ignore[arg-type]
    events.subscribe(broker, prefix=PREFIX, sessions=None, handling=handling)  # type: ignore[arg-type]
    assert consumed_payloads(broker) == {
        f"{IDENTITY_EVENTS.name(PREFIX)}:{events.IDENTITY_GROUP}": {
            "UserRegistered",
            "UserDeleted",
            "IdentityLinked",
            "SocialImportRefreshed",
            "SocialImportWithdrawn",
            "IdentityUnlinked",
        },
        f"{PRIVACY_REQUESTS.name(PREFIX)}:{events.PRIVACY_GROUP}": {"DataExportRequested"},
    }
