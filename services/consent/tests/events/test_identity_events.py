"""The consent service follows the auth service's identity events from the real broker."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select

from ciam_consent.models import outbox
from ciam_devtools.testing.plugin import eventually, publish_event
from ciam_shared.events import CloudEvent, UserDeleted, UserRegistered
from ciam_shared.outbox import TOMBSTONE, VERSION_HEADER


async def test_a_registered_subject_becomes_known(
    consent_api, kafka_bootstrap, topic_prefix
) -> None:
    subject = uuid.uuid4()
    headers = consent_api.customer(subject)
    url = f"/v1/subjects/{subject}/consents"
    assert (await consent_api.client.get(url, headers=headers)).status_code == 404
    event = CloudEvent.wrap(
        UserRegistered(subject_id=subject, registered_at=datetime.now(UTC)), source="/tests"
    )
    await publish_event(kafka_bootstrap, event, prefix=topic_prefix)

    async def known() -> bool:
        response = await consent_api.client.get(url, headers=headers)
        return response.status_code == 200 and response.json()["consents"] == []

    await eventually(known)


async def test_a_deleted_account_erases_its_consents_and_tombstones_its_state(
    consent_api, kafka_bootstrap, topic_prefix
) -> None:
    subject = uuid.uuid4()
    headers = consent_api.customer(subject)
    base = f"/v1/subjects/{subject}/consents"
    await consent_api.client.post(f"{base}/email-marketing/grant", json={}, headers=headers)
    deleted = CloudEvent.wrap(
        UserDeleted(subject_id=subject, deleted_at=datetime.now(UTC)), source="/tests"
    )
    await publish_event(kafka_bootstrap, deleted, prefix=topic_prefix, times=2)
    # A sentinel behind the duplicate (same subject, same partition): once it is processed,
    # so is the duplicate.
    sentinel = CloudEvent.wrap(
        UserRegistered(subject_id=subject, registered_at=datetime.now(UTC)), source="/tests"
    )
    await publish_event(kafka_bootstrap, sentinel, prefix=topic_prefix)
    await eventually(lambda: consent_api.processed(sentinel.id))
    response = await consent_api.client.get(base, headers=headers)
    assert response.json()["consents"] == []
    async with consent_api.engine.connect() as connection:
        rows = (await connection.execute(select(outbox).order_by(outbox.c.seq))).all()
    types = [r.event_type for r in rows]
    assert types.count("dev.ciam.consent.subject-erased.v1") == 1  # the duplicate did nothing
    # The duplicate is skipped by the inbox: one confirmation to the privacy centre, last.
    assert types.count("dev.ciam.privacy.erasure.confirmed.v1") == 1
    assert types[-1] == "dev.ciam.privacy.erasure.confirmed.v1"
    tombstone = [r for r in rows if r.event_type == TOMBSTONE][-1]
    assert tombstone.payload is None
    assert tombstone.key == str(subject)
    assert tombstone.headers == {VERSION_HEADER: "2"}
    gone = await consent_api.client.post(f"{base}/email-marketing/grant", json={}, headers=headers)
    assert gone.status_code == 410
    history = await consent_api.client.get(f"/v1/subjects/{subject}/history", headers=headers)
    assert history.json()["chain_valid"] is True  # proof of the earlier consent is kept
