"""The notifier's Kafka handlers on FastStream's test broker, over a real PostgreSQL: the effect
of a valid event, a duplicate ignored, an invalid payload not acknowledged, a deleted app's
event and its bare tombstone. The real-broker tests (tests/api) prove the same against Kafka."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from faststream.kafka import KafkaBroker
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ciam_consent_sdk import BrandAppView
from ciam_devtools.testing.handlers import PREFIX, HandlerBroker, consumed_payloads, handler_broker
from ciam_notifier import events
from ciam_notifier.models import Base, Subscription, Suppression, processed_events
from ciam_shared.events import (
    BrandAppDeleted,
    BrandAppRegistered,
    CloudEvent,
    CollectionMethod,
    ConsentStatus,
    ConsentWithdrawn,
    encode,
)
from ciam_shared.topics import BRAND_APPS, CONSENT_CHANGES, IDENTITY_EVENTS, PRIVACY_REQUESTS


@dataclass
class Calls:
    streams: int = 0
    delivered: list[Any] = field(default_factory=list)


@pytest.fixture
async def calls() -> Calls:
    return Calls()


@pytest.fixture
async def handlers(fresh_database, calls: Calls) -> AsyncIterator[HandlerBroker]:
    url = await fresh_database("ciam_notifier.migrations")
    ready = asyncio.Event()
    ready.set()

    def wake_streams() -> None:
        calls.streams += 1

    def subscribe(broker: KafkaBroker, prefix: str, sessions: async_sessionmaker[AsyncSession]):
        handling = events.Handling(
            sessions=sessions,
            apps=BrandAppView("localhost:9"),  # never started: knows no app, fans out to none
            apps_ready=ready,
            deliver_now=calls.delivered.append,
            fast_path=lambda: True,
            wake_streams=wake_streams,
            wake_messages=None,
        )
        events.subscribe(broker, prefix, handling)

    async with handler_broker(url, Base.metadata, subscribe) as broker:
        yield broker


def withdrawn(subject: uuid.UUID) -> CloudEvent[ConsentWithdrawn]:
    data = ConsentWithdrawn(
        subject_id=subject,
        version=2,
        purpose="email-marketing",
        purpose_version=1,
        status=ConsentStatus.WITHDRAWN,
        collected_via=CollectionMethod.WEB,
        occurred_at=datetime.now(UTC),
        entry_hash="ab" * 32,
    )
    return CloudEvent.wrap(data, source="/tests")


async def scalar(broker: HandlerBroker, statement: Any) -> Any:
    async with broker.engine.connect() as connection:
        return (await connection.execute(statement)).scalar_one()


async def test_a_withdrawal_suppresses_at_once_and_a_duplicate_changes_nothing(
    handlers: HandlerBroker, calls: Calls
) -> None:
    subject = uuid.uuid4()
    event = withdrawn(subject)
    await handlers.publish_event(event, topic=CONSENT_CHANGES)
    await handlers.publish_event(event, topic=CONSENT_CHANGES)
    async with handlers.engine.connect() as connection:
        rows = (
            await connection.execute(
                select(Suppression.channel, Suppression.reason).where(
                    Suppression.subject_id == subject
                )
            )
        ).all()
    assert sorted(rows) == [("email", "withdrawn"), ("sms", "withdrawn")]
    assert calls.streams == 1  # the duplicate ran nothing (its wake is after the commit)
    inbox = select(func.count()).select_from(processed_events)
    assert await scalar(handlers, inbox) == 1


async def test_an_invalid_change_is_not_acknowledged_and_changes_nothing(
    handlers: HandlerBroker, calls: Calls
) -> None:
    key, _, headers = encode(withdrawn(uuid.uuid4()))
    with pytest.raises(ValidationError):  # the subscriber nacks: the record comes again
        await handlers.publish_raw(
            b'{"version": 0}', topic=CONSENT_CHANGES, key=key, headers=headers
        )
    assert await scalar(handlers, select(func.count()).select_from(Suppression)) == 0
    assert await scalar(handlers, select(func.count()).select_from(processed_events)) == 0
    assert calls.streams == 0


async def add_subscription(broker: HandlerBroker, app: str) -> uuid.UUID:
    async with broker.sessions() as session, session.begin():
        subscription = Subscription(
            app=app,
            url="https://example.com/hook",
            event_types=[],
            purposes=[],
            brands=[],
            secret="s",
            created_at=datetime.now(UTC) - timedelta(minutes=1),
        )
        session.add(subscription)
    return subscription.id


async def status_of(broker: HandlerBroker, subscription: uuid.UUID) -> str:
    statement = select(Subscription.status).where(Subscription.id == subscription)
    return str(await scalar(broker, statement))


async def test_a_deleted_app_stops_its_subscriptions(handlers: HandlerBroker) -> None:
    subscription = await add_subscription(handlers, "shop-web")
    kept = await add_subscription(handlers, "other-app")
    deleted = BrandAppDeleted(client_id="shop-web", deleted_at=datetime.now(UTC))
    await handlers.publish_event(CloudEvent.wrap(deleted, source="/tests"), topic=BRAND_APPS)
    assert await status_of(handlers, subscription) == "deleted"
    assert await status_of(handlers, kept) == "active"


async def test_a_bare_tombstone_stops_its_apps_subscriptions(handlers: HandlerBroker) -> None:
    subscription = await add_subscription(handlers, "shop-web")
    await handlers.publish_raw(None, topic=BRAND_APPS, key=b"shop-web", headers={})
    assert await status_of(handlers, subscription) == "deleted"


async def test_a_registration_is_skipped(handlers: HandlerBroker) -> None:
    subscription = await add_subscription(handlers, "shop-web")
    now = datetime.now(UTC)
    registered = BrandAppRegistered(
        client_id="shop-web",
        name="Shop",
        brand=None,
        purposes=[],
        scopes=[],
        first_party=False,
        registered_at=now,
        updated_at=now,
    )
    await handlers.publish_event(CloudEvent.wrap(registered, source="/tests"), topic=BRAND_APPS)
    assert await status_of(handlers, subscription) == "active"


def test_the_asyncapi_document_describes_what_the_service_consumes() -> None:
    broker = KafkaBroker("localhost:9")
    handling = events.Handling(None, None, asyncio.Event(), None, None, None, None)  # type: ignore[arg-type]
    events.subscribe(broker, PREFIX, handling)
    assert consumed_payloads(broker) == {
        f"{CONSENT_CHANGES.name(PREFIX)}:{events.CONSENT_GROUP}": {"ConsentChange"},
        # A deletion event, or the bare tombstone (no body) compaction leaves of it.
        f"{BRAND_APPS.name(PREFIX)}:{events.APPS_GROUP}": {"BrandAppDeleted", "EmptyPayload"},
        f"{IDENTITY_EVENTS.name(PREFIX)}:{events.IDENTITY_GROUP}": {"UserDeleted"},
        f"{PRIVACY_REQUESTS.name(PREFIX)}:{events.PRIVACY_GROUP}": {"DataExportRequested"},
    }
