"""Erasure and the idempotency of the identity-event handlers, over the real broker.

Absence (a duplicate that did nothing) is proven with a sentinel: a later event for the same
subject (same key, so the same partition and consumer, processed in order) is published after
the one under test, and the assertions run once the sentinel is recorded as processed.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from ciam_consent.models import ConsentRecord, HistoryEntry, Subject, outbox, processed_events
from ciam_devtools.testing.plugin import eventually, publish_event
from ciam_shared.events import CloudEvent, UserDeleted, UserRegistered
from ciam_shared.outbox import TOMBSTONE, VERSION_HEADER

ERASED = "dev.ciam.consent.subject-erased.v1"
CONFIRMED = "dev.ciam.privacy.erasure.confirmed.v1"


def registered(subject: uuid.UUID, at: datetime | None = None) -> CloudEvent[UserRegistered]:
    data = UserRegistered(subject_id=subject, registered_at=at or datetime.now(UTC))
    return CloudEvent.wrap(data, source="/tests")


def deleted(subject: uuid.UUID) -> CloudEvent[UserDeleted]:
    return CloudEvent.wrap(
        UserDeleted(subject_id=subject, deleted_at=datetime.now(UTC)), source="/tests"
    )


async def deliver(api: Any, *events: CloudEvent[Any], times: int = 1) -> None:
    """Publish `events` in order, then a sentinel for the last one's subject; returns once the
    sentinel is processed, so every event before it is too."""
    kafka, prefix = api.settings.kafka_bootstrap_servers, api.settings.topic_prefix
    for event in events:
        await publish_event(kafka, event, prefix=prefix, times=times)
    subject: uuid.UUID = events[-1].data.subject_id
    sentinel = registered(subject)
    await publish_event(kafka, sentinel, prefix=prefix)
    await eventually(lambda: api.processed(sentinel.id))


async def subject_row(api: Any, subject: uuid.UUID) -> Any:
    async with api.engine.connect() as connection:
        return (
            await connection.execute(select(Subject.__table__).where(Subject.id == subject))
        ).one_or_none()


async def rows_of(api: Any, subject: uuid.UUID) -> tuple[int, int]:
    async with api.engine.connect() as connection:
        records = await connection.scalar(
            select(func.count()).where(ConsentRecord.subject_id == subject)
        )
        history = await connection.scalar(
            select(func.count()).where(HistoryEntry.subject_id == subject)
        )
    return int(records or 0), int(history or 0)


async def outbox_of(api: Any, subject: uuid.UUID) -> list[Any]:
    async with api.engine.connect() as connection:
        query = select(outbox).where(outbox.c.key == str(subject)).order_by(outbox.c.seq)
        return list((await connection.execute(query)).all())


async def grant(api: Any, subject: uuid.UUID, *purposes: str) -> None:
    response = await api.client.post(
        f"/v1/subjects/{subject}/consents",
        json={"changes": [{"purpose": p, "status": "granted"} for p in purposes]},
        headers=api.admin(),
    )
    assert response.status_code == 200, response.text


async def test_erasure_deletes_the_records_keeps_the_proof_and_stages_a_tombstone(
    consent_api,
) -> None:
    api, subject, bystander = consent_api, uuid.uuid4(), uuid.uuid4()
    await grant(api, subject, "email-marketing", "analytics")
    await grant(api, bystander, "email-marketing")
    before = await outbox_of(api, subject)

    await deliver(api, deleted(subject))

    row = await subject_row(api, subject)
    assert row.erased_at is not None
    assert row.version == 3  # the erasure is the subject's last version
    assert await rows_of(api, subject) == (0, 2)  # records gone, history kept as proof
    assert await rows_of(api, bystander) == (1, 1)
    staged = (await outbox_of(api, subject))[len(before) :]
    # The erasure, the tombstone, and the confirmation to the privacy centre (datarights).
    assert [r.event_type for r in staged] == [ERASED, TOMBSTONE, CONFIRMED]
    erased, tombstone, confirmed = staged
    assert confirmed.topic.endswith("ciam.privacy.replies")
    assert erased.topic.endswith("ciam.consent.changes")
    assert tombstone.topic.endswith("ciam.consent.state")
    assert (tombstone.payload, tombstone.headers) == (None, {VERSION_HEADER: "3"})

    current = await api.client.get(f"/v1/subjects/{subject}/consents", headers=api.admin())
    assert (current.status_code, current.json()["consents"]) == (200, [])
    history = await api.client.get(f"/v1/subjects/{subject}/history", headers=api.admin())
    assert history.json()["chain_valid"] is True
    assert len(history.json()["entries"]) == 2


async def test_the_same_deletion_twice_erases_once(consent_api) -> None:
    api, subject = consent_api, uuid.uuid4()
    await grant(api, subject, "analytics")
    await deliver(api, deleted(subject), times=2)
    assert [r.event_type for r in await outbox_of(api, subject)].count(ERASED) == 1
    assert (await subject_row(api, subject)).version == 2


async def test_two_deletions_of_one_subject_erase_once(consent_api) -> None:
    """Two events (two ids) for one deletion, e.g. a retried request at the auth service."""
    api, subject = consent_api, uuid.uuid4()
    await grant(api, subject, "analytics")
    first, second = deleted(subject), deleted(subject)
    await deliver(api, first, second)
    assert await api.processed(first.id) and await api.processed(second.id)
    types = [r.event_type for r in await outbox_of(api, subject)]
    assert (types.count(ERASED), types.count(TOMBSTONE)) == (1, 1)
    assert (await subject_row(api, subject)).version == 2


async def test_a_deletion_of_an_unknown_subject_bars_later_consents(consent_api) -> None:
    api, subject = consent_api, uuid.uuid4()
    await deliver(api, deleted(subject))
    assert (await subject_row(api, subject)).erased_at is not None
    refused = await api.client.post(
        f"/v1/subjects/{subject}/consents/analytics/grant", json={}, headers=api.admin()
    )
    assert refused.status_code == 410
    assert await rows_of(api, subject) == (0, 0)


async def test_a_registration_after_the_deletion_does_not_revive_the_subject(
    consent_api,
) -> None:
    api, subject = consent_api, uuid.uuid4()
    await grant(api, subject, "analytics")
    await deliver(api, deleted(subject), registered(subject))
    assert (await subject_row(api, subject)).erased_at is not None
    refused = await api.client.post(
        f"/v1/subjects/{subject}/consents/analytics/grant", json={}, headers=api.admin()
    )
    assert refused.status_code == 410


async def test_the_same_registration_twice_keeps_the_first_time_and_writes_nothing_else(
    consent_api,
) -> None:
    api, subject = consent_api, uuid.uuid4()
    first = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    event = registered(subject, first)
    await deliver(api, event, times=2)
    await deliver(api, registered(subject, first + timedelta(days=1)))  # another id, later time
    row = await subject_row(api, subject)
    assert (row.registered_at, row.version, row.erased_at) == (first, 0, None)
    assert await outbox_of(api, subject) == []
    async with api.engine.connect() as connection:
        seen = await connection.scalar(
            select(func.count()).where(processed_events.c.event_id == event.id)
        )
    assert seen == 1
