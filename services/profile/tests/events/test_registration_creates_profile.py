"""The profile service consumes UserRegistered from the real broker, once per event."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from ciam_profile.main import create_app
from ciam_profile.models import Profile, outbox
from ciam_profile.settings import ProfileSettings
from ciam_shared.db import create_engine
from ciam_shared.events import CloudEvent, UserRegistered
from ciam_shared.testing.plugin import eventually, publish_event, running, settings_kwargs


@pytest.fixture
async def profile(
    fresh_database, kafka_bootstrap: str, redis_url: str, topic_prefix: str
) -> AsyncIterator[tuple[httpx.AsyncClient, AsyncEngine]]:
    url = await fresh_database("ciam_profile.migrations")
    settings = ProfileSettings(
        **settings_kwargs(url, kafka=kafka_bootstrap, redis=redis_url, topic_prefix=topic_prefix)
    )
    engine = create_engine(url)
    async with running(create_app(settings)) as client:
        yield client, engine
    await engine.dispose()


async def test_a_registration_published_twice_creates_one_profile_and_one_event(
    profile, kafka_bootstrap: str, topic_prefix: str
) -> None:
    client, engine = profile
    subject = uuid.uuid4()
    event = CloudEvent.wrap(
        UserRegistered(subject_id=subject, registered_at=datetime.now(UTC)), source="/tests"
    )
    await publish_event(kafka_bootstrap, event, prefix=topic_prefix, times=2)
    # A second, later event for another subject proves the duplicate was consumed before it.
    marker = CloudEvent.wrap(
        UserRegistered(subject_id=uuid.uuid4(), registered_at=datetime.now(UTC)), source="/tests"
    )
    await publish_event(kafka_bootstrap, marker, prefix=topic_prefix)

    async def both_seen() -> bool:
        return (await client.get(f"/v1/profiles/{marker.data.subject_id}")).status_code == 200

    await eventually(both_seen)
    response = await client.get(f"/v1/profiles/{subject}")
    assert response.status_code == 200
    assert response.json()["subject_id"] == str(subject)
    async with engine.connect() as connection:
        profiles = await connection.scalar(select(func.count()).select_from(Profile.__table__))
        created = (
            await connection.execute(select(outbox.c.key).where(outbox.c.key == str(subject)))
        ).all()
    assert profiles == 2
    assert len(created) == 1


async def test_an_unknown_profile_is_a_404_problem(profile) -> None:
    client, _ = profile
    response = await client.get(f"/v1/profiles/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.json()["type"].endswith("/profile-not-found")
    malformed = await client.get("/v1/profiles/not-a-uuid")
    assert malformed.status_code == 422
