"""The social capability's Kafka handler on FastStream's test broker, over a real PostgreSQL:
an ended `social-import` consent stops the import (its effect), a duplicate changes nothing,
an invalid payload is not acknowledged. The end-to-end test
(tests/test_social_import_end_to_end.py) proves the same against Kafka."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from faststream.kafka import KafkaBroker
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ciam_auth.models import Account, Base, outbox, processed_events
from ciam_auth.social import events
from ciam_auth.social.models import LinkedIdentity
from ciam_devtools.testing.handlers import PREFIX, HandlerBroker, consumed_payloads, handler_broker
from ciam_shared.events import (
    CloudEvent,
    CollectionMethod,
    ConsentGranted,
    ConsentStatus,
    ConsentWithdrawn,
    SocialImportWithdrawn,
    encode,
)
from ciam_shared.topics import CONSENT_CHANGES


@pytest.fixture
async def handlers(fresh_database) -> AsyncIterator[HandlerBroker]:
    url = await fresh_database("ciam_auth.migrations")

    def subscribe(broker: KafkaBroker, prefix: str, sessions: async_sessionmaker[AsyncSession]):
        events.subscribe(broker, prefix=prefix, sessions=sessions)

    async with handler_broker(url, Base.metadata, subscribe) as broker:
        yield broker


async def linked_account(broker: HandlerBroker) -> tuple[uuid.UUID, uuid.UUID]:
    account_id = uuid.uuid4()
    async with broker.sessions() as session, session.begin():
        session.add(Account(id=account_id, email=f"{account_id.hex}@example.com"))
        await session.flush()
        identity = LinkedIdentity(
            account_id=account_id,
            provider="google",
            issuer="https://accounts.google.test",
            subject=account_id.hex,
            import_fields=["given_name", "picture"],
            imported={"given_name": "Ada", "picture": "https://example.com/ada.png"},
        )
        session.add(identity)
    return account_id, identity.id


def change(
    model: type[Any], subject: uuid.UUID, *, purpose: str = "social-import", channel: str | None
) -> CloudEvent[Any]:
    data = model(
        subject_id=subject,
        version=2,
        purpose=purpose,
        purpose_version=1,
        channel=channel,
        status=ConsentStatus.WITHDRAWN if model is ConsentWithdrawn else ConsentStatus.GRANTED,
        collected_via=CollectionMethod.WEB,
        occurred_at=datetime.now(UTC),
        entry_hash="ab" * 32,
    )
    return CloudEvent.wrap(data, source="/tests")


async def identity_of(broker: HandlerBroker, identity_id: uuid.UUID) -> LinkedIdentity:
    async with broker.sessions() as session:
        identity = await session.get(LinkedIdentity, identity_id)
    assert identity is not None
    return identity


async def scalar(broker: HandlerBroker, statement: Any) -> Any:
    async with broker.engine.connect() as connection:
        return (await connection.execute(statement)).scalar_one()


WITHDRAWALS_STAGED = (
    select(func.count())
    .select_from(outbox)
    .where(outbox.c.event_type == SocialImportWithdrawn.event_type)
)


async def test_a_withdrawn_field_is_imported_no_more_and_a_duplicate_changes_nothing(
    handlers: HandlerBroker,
) -> None:
    account_id, identity_id = await linked_account(handlers)
    event = change(ConsentWithdrawn, account_id, channel="given_name")
    await handlers.publish_event(event, topic=CONSENT_CHANGES)
    await handlers.publish_event(event, topic=CONSENT_CHANGES)  # a redelivery
    identity = await identity_of(handlers, identity_id)
    assert identity.import_fields == ["picture"]
    assert identity.imported == {"picture": "https://example.com/ada.png"}
    assert await scalar(handlers, WITHDRAWALS_STAGED) == 1
    assert await scalar(handlers, select(func.count()).select_from(processed_events)) == 1


async def test_other_purposes_and_grants_leave_the_import_alone(handlers: HandlerBroker) -> None:
    account_id, identity_id = await linked_account(handlers)
    other = change(ConsentWithdrawn, account_id, purpose="email-marketing", channel=None)
    await handlers.publish_event(other, topic=CONSENT_CHANGES)
    granted = change(ConsentGranted, account_id, channel=None)  # no handler: skipped
    await handlers.publish_event(granted, topic=CONSENT_CHANGES)
    identity = await identity_of(handlers, identity_id)
    assert identity.import_fields == ["given_name", "picture"]
    assert await scalar(handlers, WITHDRAWALS_STAGED) == 0
    # The withdrawal of another purpose was handled (and recorded); the grant never reached it.
    assert await scalar(handlers, select(func.count()).select_from(processed_events)) == 1


async def test_an_invalid_payload_is_not_acknowledged_and_changes_nothing(
    handlers: HandlerBroker,
) -> None:
    account_id, identity_id = await linked_account(handlers)
    key, _, headers = encode(change(ConsentWithdrawn, account_id, channel=None))
    with pytest.raises(ValidationError):  # the subscriber nacks: the record comes again
        await handlers.publish_raw(
            b'{"purpose": "social-import"}', topic=CONSENT_CHANGES, key=key, headers=headers
        )
    identity = await identity_of(handlers, identity_id)
    assert identity.import_fields == ["given_name", "picture"]
    assert await scalar(handlers, select(func.count()).select_from(processed_events)) == 0


def test_the_asyncapi_document_describes_what_the_capability_consumes() -> None:
    broker = KafkaBroker("localhost:9")
    events.subscribe(broker, prefix=PREFIX, sessions=None)  # type: ignore[arg-type]
    assert consumed_payloads(broker) == {
        f"{CONSENT_CHANGES.name(PREFIX)}:{events.GROUP}": {"ConsentChange"}
    }
