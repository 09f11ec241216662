"""The notifier answers the privacy centre over the real broker: its part of a data export
(messages to the subject, deliveries about it, suppressions, stream events; no contacts: it
keeps none) and the erasure of a deleted subject, confirmed in the erasure's transaction."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from ciam_devtools.testing.issuer import TokenIssuer
from ciam_devtools.testing.plugin import eventually, publish_event, running, settings_kwargs
from ciam_notifier.main import create_app
from ciam_notifier.models import Message, StreamEvent, Suppression, outbox
from ciam_notifier.settings import NotifierSettings
from ciam_shared.db import create_engine
from ciam_shared.events import (
    CloudEvent,
    DataExportPart,
    DataExportRequested,
    ErasureConfirmed,
    UserDeleted,
)
from ciam_shared.privacy import new_request_key, unpack_part
from ciam_shared.topics import ALL_TOPICS, ensure_topics

PRIVATE_KEY, PUBLIC_KEY = new_request_key()


@dataclass
class Notifier:
    engine: AsyncEngine
    kafka: str
    prefix: str

    async def seed(self, subject: uuid.UUID) -> None:
        now = datetime.now(UTC)
        async with self.engine.begin() as connection:
            await connection.execute(
                Suppression.__table__.insert().values(
                    channel="email", subject_id=subject, purpose="email-marketing",
                    reason="withdrawn", since=now,
                )
            )  # fmt: skip
            await connection.execute(
                Message.__table__.insert().values(
                    id=uuid.uuid4(), idempotency_key=f"k-{subject}", kind="marketing",
                    app="shop-backend", subject_id=subject, purpose="email-marketing",
                    channel="email", body="50% off", title="Sale", status="sent", attempts=1,
                    requested_at=now, not_before=now,
                )
            )  # fmt: skip
            await connection.execute(
                StreamEvent.__table__.insert().values(
                    event_id=uuid.uuid4(), subject_id=subject,
                    event_type="dev.ciam.consent.withdrawn.v1", payload={}, created_at=now,
                )
            )  # fmt: skip

    async def staged(self, subject: uuid.UUID, event_type: str) -> list[Any]:
        async with self.engine.connect() as connection:
            query = select(outbox).where(
                outbox.c.key == str(subject), outbox.c.event_type == event_type
            )
            return list((await connection.execute(query)).all())

    async def held(self, subject: uuid.UUID) -> int:
        total = 0
        async with self.engine.connect() as connection:
            for model in (Message, Suppression, StreamEvent):
                total += int(
                    await connection.scalar(
                        select(func.count()).select_from(model).where(model.subject_id == subject)
                    )
                    or 0
                )
        return total


@pytest.fixture
async def notifier(
    fresh_database: Any,
    kafka_bootstrap: str,
    redis_url: str,
    topic_prefix: str,
    token_issuer: TokenIssuer,
) -> AsyncIterator[Notifier]:
    await ensure_topics(kafka_bootstrap, ALL_TOPICS, prefix=topic_prefix)
    url = await fresh_database("ciam_notifier.migrations")
    settings = NotifierSettings(
        **settings_kwargs(
            url, kafka=kafka_bootstrap, redis=redis_url, topic_prefix=topic_prefix,
            token_issuer=token_issuer,
        )
    )  # fmt: skip
    engine = create_engine(url)
    try:
        async with running(create_app(settings)):
            yield Notifier(engine, kafka_bootstrap, topic_prefix)
    finally:
        await engine.dispose()


async def test_an_export_request_is_answered_with_what_the_notifier_holds(
    notifier: Notifier,
) -> None:
    subject, bystander = uuid.uuid4(), uuid.uuid4()
    await notifier.seed(subject)
    await notifier.seed(bystander)
    request = DataExportRequested(
        subject_id=subject,
        request_id=uuid.uuid4(),
        requested_at=datetime.now(UTC),
        public_key=PUBLIC_KEY,
    )
    await publish_event(
        notifier.kafka, CloudEvent.wrap(request, source="/tests"), prefix=notifier.prefix
    )

    async def answered() -> list[Any] | None:
        return await notifier.staged(subject, DataExportPart.event_type) or None

    [row] = await eventually(answered)
    part = DataExportPart.model_validate_json(row.payload)
    assert (part.service, part.request_id) == ("notifier", request.request_id)
    document = json.loads(unpack_part(part, PRIVATE_KEY))
    assert [m["body"] for m in document["messages"]] == ["50% off"]
    assert [s["purpose"] for s in document["suppressions"]] == ["email-marketing"]
    assert len(document["stream_events"]) == 1 and document["contacts"] == []
    assert str(bystander) not in json.dumps(document)


async def test_a_deleted_subject_is_erased_and_the_erasure_confirmed(notifier: Notifier) -> None:
    subject, bystander = uuid.uuid4(), uuid.uuid4()
    await notifier.seed(subject)
    await notifier.seed(bystander)
    deleted = UserDeleted(subject_id=subject, deleted_at=datetime.now(UTC))
    await publish_event(
        notifier.kafka, CloudEvent.wrap(deleted, source="/tests"), prefix=notifier.prefix
    )

    async def confirmed() -> list[Any] | None:
        return await notifier.staged(subject, ErasureConfirmed.event_type) or None

    [row] = await eventually(confirmed)
    assert ErasureConfirmed.model_validate_json(row.payload).service == "notifier"
    assert await notifier.held(subject) == 0
    assert await notifier.held(bystander) == 3
