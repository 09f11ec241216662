"""The consent service's Kafka handlers on FastStream's test broker, over a real PostgreSQL:
the effect of a valid event, a duplicate ignored, an invalid payload not acknowledged.
The real-broker tests (tests/events) prove the same against Kafka."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from faststream.kafka import KafkaBroker
from joserfc.jwk import ECKey
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ciam_consent import events
from ciam_consent.integrity import ReceiptSigner
from ciam_consent.models import Base, PropagationAck, Subject, outbox, processed_events
from ciam_consent.parts import ConsentParts
from ciam_consent.service.recording import Controller, Recorder
from ciam_devtools.testing.handlers import PREFIX, HandlerBroker, consumed_payloads, handler_broker
from ciam_shared.events import (
    CloudEvent,
    ConsentApplied,
    EmailVerified,
    UserDeleted,
    UserRegistered,
    encode,
)
from ciam_shared.topics import CONSENT_APPLIED, IDENTITY_EVENTS, PRIVACY_REQUESTS


@pytest.fixture
async def handlers(fresh_database) -> AsyncIterator[HandlerBroker]:
    url = await fresh_database("ciam_consent.migrations")
    recorder = Recorder(
        signer=ReceiptSigner(ECKey.generate_key("P-256").as_pem(private=True).decode()),
        controller=Controller("Acme", "dpo@example.com", "https://example.com/p", "PL"),
        topic_prefix=PREFIX,
    )
    parts = ConsentParts(recorder, apps=None)  # type: ignore[arg-type]  # no handler reads apps

    def subscribe(broker: KafkaBroker, prefix: str, sessions: async_sessionmaker[AsyncSession]):
        events.subscribe(broker, prefix=prefix, sessions=sessions, parts=parts)

    async with handler_broker(url, Base.metadata, subscribe) as broker:
        yield broker


def registered(subject: uuid.UUID) -> CloudEvent[UserRegistered]:
    data = UserRegistered(subject_id=subject, registered_at=datetime.now(UTC))
    return CloudEvent.wrap(data, source="/tests")


async def count(broker: HandlerBroker, statement) -> int:
    async with broker.engine.connect() as connection:
        return int((await connection.execute(statement)).scalar_one())


async def test_a_registration_makes_the_subject_known_once(handlers: HandlerBroker) -> None:
    subject = uuid.uuid4()
    event = registered(subject)
    await handlers.publish_event(event, topic=IDENTITY_EVENTS)
    await handlers.publish_event(event, topic=IDENTITY_EVENTS)  # a redelivery
    assert (
        await count(
            handlers, select(func.count()).select_from(Subject).where(Subject.id == subject)
        )
        == 1
    )
    assert (
        await count(
            handlers,
            select(func.count())
            .select_from(processed_events)
            .where(
                processed_events.c.event_id == event.id,
                processed_events.c.consumer == events.IDENTITY_GROUP,
            ),
        )
        == 1
    )


async def test_a_deletion_erases_once_and_a_duplicate_changes_nothing(
    handlers: HandlerBroker,
) -> None:
    subject = uuid.uuid4()
    await handlers.publish_event(registered(subject), topic=IDENTITY_EVENTS)
    deleted = CloudEvent.wrap(
        UserDeleted(subject_id=subject, deleted_at=datetime.now(UTC)), source="/tests"
    )
    await handlers.publish_event(deleted, topic=IDENTITY_EVENTS)
    await handlers.publish_event(deleted, topic=IDENTITY_EVENTS)
    erased = (
        select(func.count())
        .select_from(outbox)
        .where(outbox.c.event_type == "dev.ciam.consent.subject-erased.v1")
    )
    assert await count(handlers, erased) == 1
    async with handlers.sessions() as session:
        row = await session.get(Subject, subject)
    assert row is not None and row.erased_at is not None


async def test_an_applied_proof_is_recorded(handlers: HandlerBroker) -> None:
    subject = uuid.uuid4()
    proof = ConsentApplied(
        subscriber="shop-web",
        subject_id=subject,
        version=3,
        event_id=uuid.uuid4(),
        applied_at=datetime.now(UTC),
    )
    event = CloudEvent.wrap(proof, source="/tests")
    await handlers.publish_event(event, topic=CONSENT_APPLIED)
    await handlers.publish_event(event, topic=CONSENT_APPLIED)
    applied = select(PropagationAck.subscriber, PropagationAck.version).where(
        PropagationAck.subject_id == subject
    )
    async with handlers.engine.connect() as connection:
        assert (await connection.execute(applied)).all() == [("shop-web", 3)]
    inbox = (
        select(func.count())
        .select_from(processed_events)
        .where(processed_events.c.consumer == events.APPLIED_GROUP)
    )
    assert await count(handlers, inbox) == 1


async def test_an_invalid_payload_is_not_acknowledged_and_changes_nothing(
    handlers: HandlerBroker,
) -> None:
    key, _, headers = encode(registered(uuid.uuid4()))
    with pytest.raises(ValidationError):  # the subscriber nacks: the record comes again
        await handlers.publish_raw(
            b'{"subject_id": "not-a-uuid"}', topic=IDENTITY_EVENTS, key=key, headers=headers
        )
    assert await count(handlers, select(func.count()).select_from(processed_events)) == 0
    assert await count(handlers, select(func.count()).select_from(Subject)) == 0


async def test_events_without_a_handler_are_acknowledged_and_skipped(
    handlers: HandlerBroker,
) -> None:
    verified = EmailVerified(subject_id=uuid.uuid4(), verified_at=datetime.now(UTC))
    await handlers.publish_event(CloudEvent.wrap(verified, source="/tests"), topic=IDENTITY_EVENTS)
    key, value, headers = encode(registered(uuid.uuid4()))
    headers["ce_type"] = "dev.ciam.identity.from-the-future.v1"
    await handlers.publish_raw(value, topic=IDENTITY_EVENTS, key=key, headers=headers)
    # No error raised (acknowledged), no inbox row, no effect.
    assert await count(handlers, select(func.count()).select_from(processed_events)) == 0
    assert await count(handlers, select(func.count()).select_from(Subject)) == 0


def test_the_asyncapi_document_describes_what_the_service_consumes() -> None:
    broker = KafkaBroker("localhost:9")
    events.subscribe(broker, prefix=PREFIX, sessions=None, parts=None)  # type: ignore[arg-type]
    assert consumed_payloads(broker) == {
        f"{IDENTITY_EVENTS.name(PREFIX)}:{events.IDENTITY_GROUP}": {
            "UserRegistered",
            "UserDeleted",
        },
        f"{CONSENT_APPLIED.name(PREFIX)}:{events.APPLIED_GROUP}": {"ConsentApplied"},
        f"{PRIVACY_REQUESTS.name(PREFIX)}:{events.PRIVACY_GROUP}": {"DataExportRequested"},
    }
