"""The consent service answers the privacy centre over the real broker: its part of a data
export (current consents, the history and each change's signed receipt) and, after erasing a
deleted subject, its confirmation; both staged in the outbox of the record's transaction."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from ciam_consent.integrity import receipt_payload
from ciam_consent.models import outbox
from ciam_devtools.testing.plugin import eventually, publish_event
from ciam_shared.events import CloudEvent, DataExportPart, DataExportRequested, ErasureConfirmed
from ciam_shared.privacy import new_request_key, unpack_part

from .test_erasure import deleted, deliver, grant

PART = DataExportPart.event_type
CONFIRMED = ErasureConfirmed.event_type

PRIVATE_KEY, PUBLIC_KEY = new_request_key()


async def staged_of(api: Any, subject: uuid.UUID, event_type: str) -> list[Any]:
    async with api.engine.connect() as connection:
        query = (
            select(outbox)
            .where(outbox.c.key == str(subject), outbox.c.event_type == event_type)
            .order_by(outbox.c.seq)
        )
        return list((await connection.execute(query)).all())


def asked(subject: uuid.UUID) -> CloudEvent[DataExportRequested]:
    data = DataExportRequested(
        subject_id=subject,
        request_id=uuid.uuid4(),
        requested_at=datetime.now(UTC),
        public_key=PUBLIC_KEY,
    )
    return CloudEvent.wrap(data, source="/tests")


async def test_an_export_request_is_answered_with_consents_history_and_receipts(
    consent_api,
) -> None:
    api, subject = consent_api, uuid.uuid4()
    await grant(api, subject, "email-marketing", "analytics")
    request = asked(subject)
    kafka, prefix = api.settings.kafka_bootstrap_servers, api.settings.topic_prefix
    await publish_event(kafka, request, prefix=prefix, times=2)  # redelivered: answered once

    async def answered() -> list[Any] | None:
        return await staged_of(api, subject, PART) or None

    rows = await eventually(answered)
    await eventually(lambda: api.processed(request.id))
    assert len(await staged_of(api, subject, PART)) == 1
    assert rows[0].topic == f"{prefix}ciam.privacy.replies"
    part = DataExportPart.model_validate_json(rows[0].payload)
    assert (part.service, part.request_id, part.status) == (
        "consent",
        request.data.request_id,
        "ready",
    )
    document = json.loads(unpack_part(part, PRIVATE_KEY))
    assert {c["purpose"]: c["status"] for c in document["consents"]} == {
        "email-marketing": "granted",
        "analytics": "granted",
    }
    history = await api.client.get(f"/v1/subjects/{subject}/history", headers=api.admin())
    kept = history.json()["entries"]
    assert [e["entry_hash"] for e in document["history"]] == [e["entry_hash"] for e in kept]
    for entry in document["history"]:
        assert entry["receipt"]["claims"] == receipt_payload(entry["receipt"]["jws"])


async def test_an_export_of_an_unknown_subject_is_an_empty_part_not_a_gap(consent_api) -> None:
    api, subject = consent_api, uuid.uuid4()
    kafka, prefix = api.settings.kafka_bootstrap_servers, api.settings.topic_prefix
    await publish_event(kafka, asked(subject), prefix=prefix)

    async def answered() -> list[Any] | None:
        return await staged_of(api, subject, PART) or None

    part = DataExportPart.model_validate_json((await eventually(answered))[0].payload)
    document = json.loads(unpack_part(part, PRIVATE_KEY))
    assert (document["consents"], document["history"]) == ([], [])


async def test_an_erasure_is_confirmed_to_the_privacy_centre(consent_api) -> None:
    api, subject = consent_api, uuid.uuid4()
    await grant(api, subject, "analytics")
    await deliver(api, deleted(subject))
    [row] = await staged_of(api, subject, CONFIRMED)
    confirmed = ErasureConfirmed.model_validate_json(row.payload)
    assert (confirmed.subject_id, confirmed.service) == (subject, "consent")
    current = await api.client.get(f"/v1/subjects/{subject}/consents", headers=api.admin())
    assert current.json()["consents"] == []  # confirmed only together with the erasure
