"""The consent service learns of subjects from the auth service's identity events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from ciam_consent.main import create_app
from ciam_consent.settings import ConsentSettings
from ciam_shared.events import CloudEvent, UserRegistered
from ciam_shared.testing.plugin import eventually, publish_event, running, settings_kwargs


async def test_a_registered_subject_becomes_known(
    fresh_database, kafka_bootstrap: str, redis_url: str, topic_prefix: str
) -> None:
    url = await fresh_database("ciam_consent.migrations")
    settings = ConsentSettings(
        **settings_kwargs(url, kafka=kafka_bootstrap, redis=redis_url, topic_prefix=topic_prefix)
    )
    async with running(create_app(settings)) as client:
        subject = uuid.uuid4()
        assert (await client.get(f"/v1/subjects/{subject}")).status_code == 404
        event = CloudEvent.wrap(
            UserRegistered(subject_id=subject, registered_at=datetime.now(UTC)), source="/tests"
        )
        await publish_event(kafka_bootstrap, event, prefix=topic_prefix)

        async def known() -> bool:
            return (await client.get(f"/v1/subjects/{subject}")).status_code == 200

        await eventually(known)
