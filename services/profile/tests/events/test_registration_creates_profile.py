"""The profile service consumes UserRegistered from the real broker, once per event."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from ciam_devtools.testing.plugin import publish_event
from ciam_profile.models import Profile, outbox
from ciam_shared.events import CloudEvent, UserRegistered


async def test_a_registration_published_twice_creates_one_profile_and_one_event(
    profile_api,
) -> None:
    api = profile_api
    subject = uuid.uuid4()
    event = CloudEvent.wrap(
        UserRegistered(subject_id=subject, registered_at=datetime.now(UTC)), source="/tests"
    )
    await publish_event(api.kafka, event, prefix=api.prefix, times=2)
    # A second, later event for another subject proves the duplicate was consumed before it.
    marker = await api.register()

    response = await api.client.get(f"/v1/profiles/{subject}", headers=api.customer(subject))
    assert response.status_code == 200
    body = response.json()
    assert body["subject_id"] == str(subject)
    assert body["known"] is True
    assert body["fields"] == {}
    assert await api.count(Profile.__table__) == 2
    assert await api.count(outbox, key=str(subject)) == 1
    assert await api.count(outbox, key=str(marker)) == 1


async def test_an_unknown_profile_is_a_404_problem(profile_api) -> None:
    api = profile_api
    response = await api.client.get(f"/v1/profiles/{uuid.uuid4()}", headers=api.admin())
    assert response.status_code == 404
    assert response.json()["type"].endswith("/profile-not-found")
    malformed = await api.client.get("/v1/profiles/not-a-uuid", headers=api.admin())
    assert malformed.status_code == 422


async def test_a_read_without_a_token_or_of_another_customer_is_refused(profile_api) -> None:
    api = profile_api
    subject = await api.register()
    assert (await api.client.get(f"/v1/profiles/{subject}")).status_code == 401
    other = await api.client.get(f"/v1/profiles/{subject}", headers=api.customer(uuid.uuid4()))
    assert other.status_code == 403
    assert other.headers["content-type"] == "application/problem+json"
