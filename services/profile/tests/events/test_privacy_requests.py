"""The profile answers the privacy centre over the real broker: its part of a data export
(the profile, its fields and identifiers, as its own export API shows them) and, after an
erasure, its confirmation, each staged in the outbox of the record's transaction."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from ciam_devtools.testing.plugin import eventually, publish_event
from ciam_profile.models import outbox
from ciam_shared.events import CloudEvent, DataExportPart, DataExportRequested, ErasureConfirmed
from ciam_shared.privacy import new_request_key, unpack_part

PRIVATE_KEY, PUBLIC_KEY = new_request_key()


async def staged_of(api: Any, subject: uuid.UUID, event_type: str) -> list[Any]:
    async with api.engine.connect() as connection:
        query = (
            select(outbox)
            .where(outbox.c.key == str(subject), outbox.c.event_type == event_type)
            .order_by(outbox.c.seq)
        )
        return list((await connection.execute(query)).all())


async def test_an_export_request_is_answered_with_the_profile_traits_and_identifiers(
    profile_api,
) -> None:
    api = profile_api
    customer = await api.register()
    me = api.customer(customer)
    await api.client.patch(f"/v1/profiles/{customer}", json={"fields": {"name": "Ada"}}, headers=me)
    await api.client.post(
        f"/v1/profiles/{customer}/identifiers",
        json={"kind": "email", "value": "ada@example.com"},
        headers=me,
    )
    request = DataExportRequested(
        subject_id=customer,
        request_id=uuid.uuid4(),
        requested_at=datetime.now(UTC),
        public_key=PUBLIC_KEY,
    )
    await publish_event(api.kafka, CloudEvent.wrap(request, source="/tests"), prefix=api.prefix)

    async def answered() -> list[Any] | None:
        return await staged_of(api, customer, DataExportPart.event_type) or None

    [row] = await eventually(answered)
    part = DataExportPart.model_validate_json(row.payload)
    assert (part.service, part.request_id) == ("profile", request.request_id)
    document = json.loads(unpack_part(part, PRIVATE_KEY))
    [profile] = document["profiles"]
    assert profile["fields"]["name"]["value"] == "Ada"
    assert profile["identifiers"][0]["value"] == "ada@example.com"
    own = (await api.client.get(f"/v1/profiles/{customer}/export", headers=me)).json()
    assert [p["fields"] for p in own["profiles"]] == [p["fields"] for p in document["profiles"]]


async def test_an_erasure_is_confirmed_to_the_privacy_centre(profile_api) -> None:
    api = profile_api
    customer = await api.register()
    await api.erase(customer)

    async def confirmed() -> list[Any] | None:
        return await staged_of(api, customer, ErasureConfirmed.event_type) or None

    [row] = await eventually(confirmed)
    assert ErasureConfirmed.model_validate_json(row.payload).service == "profile"
    gone = await api.client.get(f"/v1/profiles/{customer}", headers=api.admin())
    assert gone.status_code == 404
